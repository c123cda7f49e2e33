using AuthServer.Audit;
using AuthServer.Core;
using AuthServer.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AuthServer.ApiKeys;

/// <summary>A key as its owner (or an admin) sees it: never the secret.</summary>
public sealed record ApiKeyView(
    string Id,
    string OwnerId,
    string Name,
    string Display,
    IReadOnlyList<string> Scopes,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastUsedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt,
    string Status,
    bool ExpiringSoon);

/// <summary>A new key: the secret is here once and nowhere else.</summary>
public sealed record CreatedApiKey(ApiKeyView Key, string Secret);

/// <summary>A request the rules refuse (bad name, scope, lifetime; unknown key).</summary>
public sealed class ApiKeyException(string message) : Exception(message);

/// <summary>Creates, rolls, revokes and lists API keys.</summary>
internal sealed class ApiKeyService(
    AuthDbContext context,
    ApiKeyAuthenticator authenticator,
    AuditLog audit,
    IOptions<ApiKeyOptions> options,
    TimeProvider clock)
{
    public static readonly IReadOnlyList<string> AllowedScopes = [PlatformScopes.Read, PlatformScopes.Write];

    public async Task<CreatedApiKey> CreateAsync(
        string ownerId, string name, IReadOnlyCollection<string> scopes, int? lifetimeDays, string actor, CancellationToken cancellationToken)
    {
        name = name.Trim();
        if (name.Length is 0 or > 100 || !DisplayText.IsPlain(name))
        {
            throw new ApiKeyException("A key needs a name of at most 100 characters, without control characters.");
        }

        // Least privilege: a key gets read unless more is asked for.
        var granted = scopes.Count == 0 ? [PlatformScopes.Read] : scopes.Distinct(StringComparer.Ordinal).ToList();
        if (granted.FirstOrDefault(scope => !AllowedScopes.Contains(scope)) is { } unknown)
        {
            throw new ApiKeyException($"Unknown scope '{unknown}'; a key may have: {string.Join(", ", AllowedScopes)}.");
        }

        // No lifetime given: the default. Zero: never expires, where the operator allows it.
        var settings = options.Value;
        int? days = lifetimeDays ?? settings.DefaultLifetimeDays;
        if (lifetimeDays == 0)
        {
            days = settings.AllowNonExpiring
                ? null
                : throw new ApiKeyException("Keys that never expire are not allowed on this server.");
        }
        else if (lifetimeDays < 0 || lifetimeDays > settings.MaxLifetimeDays)
        {
            throw new ApiKeyException($"A key lives between 1 and {settings.MaxLifetimeDays} days.");
        }

        if (await context.ApiKeys.CountAsync(key => key.OwnerId == ownerId && key.RevokedAt == null, cancellationToken) >= settings.MaxKeysPerAccount)
        {
            throw new ApiKeyException($"An account may hold at most {settings.MaxKeysPerAccount} keys; revoke one first.");
        }

        var now = clock.GetUtcNow();
        var (entity, secret) = NewKey(ownerId, name, granted, now, days is null ? null : now.AddDays(days.Value));
        context.ApiKeys.Add(entity);
        await context.SaveChangesAsync(cancellationToken);
        await audit.WriteAsync(actor, AuditActions.ApiKeyCreated, entity.Id, ownerId,
            new { entity.Name, entity.Scopes, entity.ExpiresAt }, cancellationToken);

        return new CreatedApiKey(View(entity, now), secret);
    }

    /// <summary>Replaces a key by a new one with the same name and scopes; the old one keeps working for the grace
    /// period (none to the configured maximum), then stops.</summary>
    public async Task<CreatedApiKey> RollAsync(
        string? ownerId, string keyId, TimeSpan grace, string actor, CancellationToken cancellationToken)
    {
        if (grace < TimeSpan.Zero || grace > options.Value.MaxRollGracePeriod)
        {
            throw new ApiKeyException($"The grace period is between none and {options.Value.MaxRollGracePeriod.TotalDays:0} days.");
        }

        var old = await FindAsync(ownerId, keyId, cancellationToken);
        var now = clock.GetUtcNow();
        if (old.RevokedAt is not null || old.ExpiresAt <= now)
        {
            throw new ApiKeyException("Only an active key can be rolled.");
        }

        var lifetime = old.ExpiresAt is null ? (TimeSpan?)null : TimeSpan.FromDays(options.Value.DefaultLifetimeDays);
        var (replacement, secret) = NewKey(old.OwnerId, old.Name, old.Scopes.Split(' '), now, lifetime is null ? null : now + lifetime);
        context.ApiKeys.Add(replacement);

        old.ReplacedById = replacement.Id;
        if (grace == TimeSpan.Zero)
        {
            old.RevokedAt = now;
        }
        else if (old.ExpiresAt is null || old.ExpiresAt > now + grace)
        {
            old.ExpiresAt = now + grace;
        }

        await context.SaveChangesAsync(cancellationToken);
        authenticator.Invalidate(old.Hash);
        await audit.WriteAsync(actor, AuditActions.ApiKeyRolled, old.Id, old.OwnerId,
            new { ReplacedBy = replacement.Id, GraceSeconds = (long)grace.TotalSeconds }, cancellationToken);

        return new CreatedApiKey(View(replacement, now), secret);
    }

    public async Task RevokeAsync(string? ownerId, string keyId, string actor, CancellationToken cancellationToken)
    {
        var key = await FindAsync(ownerId, keyId, cancellationToken);
        if (key.RevokedAt is not null)
        {
            return;
        }

        key.RevokedAt = clock.GetUtcNow();
        await context.SaveChangesAsync(cancellationToken);

        // This node stops accepting the key at once; the others within the cache duration.
        authenticator.Invalidate(key.Hash);
        await audit.WriteAsync(actor, AuditActions.ApiKeyRevoked, key.Id, key.OwnerId, null, cancellationToken);
    }

    public async Task<IReadOnlyList<ApiKeyView>> ListAsync(string ownerId, CancellationToken cancellationToken)
    {
        var keys = await context.ApiKeys.AsNoTracking().Where(key => key.OwnerId == ownerId).ToListAsync(cancellationToken);
        var now = clock.GetUtcNow();
        return [.. keys.OrderByDescending(key => key.CreatedAt).Select(key => View(key, now))];
    }

    private async Task<ApiKey> FindAsync(string? ownerId, string keyId, CancellationToken cancellationToken) =>
        await context.ApiKeys.SingleOrDefaultAsync(
            key => key.Id == keyId && (ownerId == null || key.OwnerId == ownerId), cancellationToken)
        ?? throw new ApiKeyException("No such key.");

    private static (ApiKey Entity, string Secret) NewKey(
        string ownerId, string name, IEnumerable<string> scopes, DateTimeOffset now, DateTimeOffset? expiresAt)
    {
        var secret = ApiKeyFormat.Generate();
        var entity = new ApiKey
        {
            Id = "key_" + System.Security.Cryptography.RandomNumberGenerator.GetHexString(16, lowercase: true),
            OwnerId = ownerId,
            Name = name,
            Hash = ApiKeyFormat.Hash(secret),
            DisplayPrefix = ApiKeyFormat.DisplayPrefix(secret),
            LastFour = ApiKeyFormat.LastFour(secret),
            Scopes = string.Join(' ', scopes),
            CreatedAt = now,
            ExpiresAt = expiresAt,
        };
        return (entity, secret);
    }

    private ApiKeyView View(ApiKey key, DateTimeOffset now)
    {
        var status = key.RevokedAt is not null ? "revoked"
            : key.ExpiresAt <= now ? "expired"
            : key.ReplacedById is not null ? "rolled"
            : "active";
        var expiringSoon = status is "active" or "rolled"
            && key.ExpiresAt is { } expires
            && expires - now <= TimeSpan.FromDays(options.Value.ExpiryWarningDays);
        return new ApiKeyView(
            key.Id, key.OwnerId, key.Name, $"{key.DisplayPrefix}…{key.LastFour}", key.Scopes.Split(' '),
            key.CreatedAt, key.LastUsedAt, key.ExpiresAt, key.RevokedAt, status, expiringSoon);
    }
}
