namespace AuthServer.Data;

/// <summary>
/// A developer's API key. Only the SHA-256 of the key is stored: the key itself is shown once, at creation.
/// </summary>
public sealed class ApiKey
{
    /// <summary>The public identifier (<c>key_…</c>), used in URLs and logs; it reveals nothing of the secret.</summary>
    public required string Id { get; set; }

    public required string OwnerId { get; set; }

    public ApplicationUser? Owner { get; set; }

    public required string Name { get; set; }

    /// <summary>Lower-case hex SHA-256 of the full key.</summary>
    public required string Hash { get; set; }

    /// <summary>The first characters of the key (<c>aip_AbCd</c>) and its last four, for display.</summary>
    public required string DisplayPrefix { get; set; }

    public required string LastFour { get; set; }

    /// <summary>Space-separated scopes (<c>read</c>, <c>write</c>).</summary>
    public required string Scopes { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Updated at most once a minute per key, in batches, never on the request path.</summary>
    public DateTimeOffset? LastUsedAt { get; set; }

    /// <summary>When the key stops working; <see langword="null"/> only where the operator allows keys that never expire.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }

    public DateTimeOffset? RevokedAt { get; set; }

    /// <summary>How many expiry reminders the owner was sent: 1 after the first (<c>ApiKeys:ExpiryWarningDays</c>
    /// ahead), 2 after the last (a day ahead).</summary>
    public int ExpiryReminders { get; set; }

    /// <summary>The key that replaced this one when it was rolled.</summary>
    public string? ReplacedById { get; set; }
}
