namespace AuthServer.Data;

/// <summary>
/// The rate-limit tier of a client registered by an admin: such a client has no owning account and pays for itself.
/// A client a developer registered is billed to the developer's account instead.
/// </summary>
public sealed class ClientTier
{
    public required string ClientId { get; set; }

    public required string Tier { get; set; }

    /// <summary>The limit of an <see cref="AccountTiers.Enterprise"/> client; null for the other tiers.</summary>
    public int? RequestsPerMinute { get; set; }
}
