using AuthServer.Core;
using AuthServer.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AuthServer.RateLimiting;

/// <summary>
/// Who pays for a <c>/v1</c> call, and its limit.
/// </summary>
/// <param name="LimitKey">The counter the call is charged to: <c>account:&lt;id&gt;</c> or <c>client:&lt;client_id&gt;</c>.</param>
/// <param name="AccountId">The paying account; empty for a client registered by an admin.</param>
/// <param name="Credential">What the call used, for usage: <c>key:&lt;id&gt;</c> or <c>client:&lt;client_id&gt;</c>.</param>
/// <param name="Tier">The payer's tier.</param>
/// <param name="Limit">Requests per minute.</param>
internal sealed record Payer(string LimitKey, string AccountId, string Credential, string Tier, int Limit)
{
    /// <summary><see cref="Limit"/> as the <c>X-RateLimit-Limit</c> header writes it, formatted once.</summary>
    public string LimitText { get; } = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>What a credential says about who may pay for its calls.</summary>
/// <param name="KeyId">The API key used, if any: its owner pays.</param>
/// <param name="AccountId">The account the credential acts for (a key's owner, a token's subject).</param>
/// <param name="ClientId">The client an access token was issued to, if any.</param>
/// <param name="Credential">What the call used, for usage: <c>key:&lt;id&gt;</c> or <c>client:&lt;client_id&gt;</c>.</param>
internal sealed record PayerLookup(string? KeyId, string? AccountId, string? ClientId, string Credential);

/// <summary>What <c>/v1/user/profile</c> says of an account, read with its tier.</summary>
internal sealed record AccountProfile(string Id, string? Email, string? Name);

/// <summary>
/// Resolves the paying account of a call (and remembers the account's profile with it): an API key's owner; for an
/// access token, the developer who registered the client, or the client itself when an admin registered it (it
/// carries its own tier). Tiers and ownership are cached for <see cref="CachingOptions.Payers"/>, so
/// the hot path does no database work, and a tier change made on this node is applied at once
/// (<see cref="InvalidateAccount"/>). A caller may keep a resolved payer itself until the expiry it is given, as long as
/// <see cref="Generation"/> has not moved.
/// </summary>
internal sealed class PayerResolver(
    IServiceScopeFactory scopes, IOptions<RateLimitOptions> options, IOptions<CachingOptions> caching, CacheInvalidations invalidations) : IDisposable
{
    // Accounts and clients; every invalidation moves the generation.
    private readonly NodeCache<object?> _cache = new("payers", sizeLimit: 100_000, invalidations);

    /// <summary>What a node remembers of an account: its limit, and its profile (accounts only).</summary>
    /// <param name="LimitKey">The counter its calls are charged to, built once.</param>
    /// <param name="Tier">The tier's name.</param>
    /// <param name="Limit">Requests per minute.</param>
    /// <param name="Profile">What <c>/v1/user/profile</c> returns (accounts only).</param>
    /// <param name="ExpiresAt">When the cache entry holding it expires (<see cref="Environment.TickCount64"/>).</param>
    private sealed record AccountLimit(string LimitKey, string Tier, int Limit, AccountProfile? Profile, long ExpiresAt);

    private sealed record ClientBilling(string? OwnerId, AccountLimit? Own, long ExpiresAt);

    /// <summary>Moves with every invalidation on this node: a payer kept by a caller from before is stale.</summary>
    public long Generation => _cache.Generation;

    /// <summary>Whether callers may keep what they resolve (the cache is on).</summary>
    public bool Remembers => caching.Value.Payers > TimeSpan.Zero;

    /// <summary>
    /// The payer, or <see langword="null"/> when the credential names no account or client that exists; and until when
    /// (<see cref="Environment.TickCount64"/>) it holds.
    /// </summary>
    public async ValueTask<(Payer? Payer, long ExpiresAt)> ResolveAsync(PayerLookup who, CancellationToken cancellationToken)
    {
        if (who.KeyId is not null)
        {
            var limit = who.AccountId is { } owner ? await AccountAsync(owner, cancellationToken) : null;
            return limit is null
                ? (null, 0)
                : (new Payer(limit.LimitKey, who.AccountId!, who.Credential, limit.Tier, limit.Limit), limit.ExpiresAt);
        }

        if (who.ClientId is not { } clientId)
        {
            return (null, 0);
        }

        var billing = await ClientAsync(clientId, cancellationToken);
        if (billing.OwnerId is { } ownerId)
        {
            var limit = await AccountAsync(ownerId, cancellationToken);
            return limit is null
                ? (null, 0)
                : (new Payer(limit.LimitKey, ownerId, who.Credential, limit.Tier, limit.Limit), Math.Min(billing.ExpiresAt, limit.ExpiresAt));
        }

        var own = billing.Own!;
        return (new Payer(own.LimitKey, "", who.Credential, own.Tier, own.Limit), billing.ExpiresAt);
    }

    /// <summary>The tier and limit of an account (cached).</summary>
    public async ValueTask<(string Tier, int Limit)?> AccountLimitAsync(string accountId, CancellationToken cancellationToken) =>
        await AccountAsync(accountId, cancellationToken) is { } limit ? (limit.Tier, limit.Limit) : null;

    /// <summary>The profile of an account, from the same cached read as its tier (no database read per call).</summary>
    public async ValueTask<AccountProfile?> ProfileAsync(string accountId, CancellationToken cancellationToken) =>
        (await AccountAsync(accountId, cancellationToken))?.Profile;

    public void InvalidateAccount(string accountId) => _cache.Invalidate("account:" + accountId);

    public void InvalidateClient(string clientId) => _cache.Invalidate("client:" + clientId);

    private async ValueTask<AccountLimit?> AccountAsync(string accountId, CancellationToken cancellationToken)
    {
        var cacheKey = "account:" + accountId;
        if (_cache.TryGet(cacheKey, out var cached))
        {
            return (AccountLimit?)cached;
        }

        var generation = _cache.Generation;
        await using var scope = scopes.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
        var account = await context.Users.AsNoTracking()
            .Where(user => user.Id == accountId)
            .Select(user => new { user.Id, user.Tier, user.RequestsPerMinute, user.Email, user.DisplayName, user.UserName })
            .SingleOrDefaultAsync(cancellationToken);
        var limit = account is null
            ? null
            : new AccountLimit(
                cacheKey,
                account.Tier,
                options.Value.LimitOf(account.Tier, account.RequestsPerMinute),
                new AccountProfile(account.Id, account.Email, account.DisplayName ?? account.UserName),
                ExpiresAt());
        Remember(cacheKey, limit, generation);
        return limit;
    }

    private async ValueTask<ClientBilling> ClientAsync(string clientId, CancellationToken cancellationToken)
    {
        var cacheKey = "client:" + clientId;
        if (_cache.TryGet(cacheKey, out var cached) && cached is ClientBilling billed)
        {
            return billed;
        }

        var generation = _cache.Generation;
        await using var scope = scopes.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
        var owner = await context.ClientOwners.AsNoTracking()
            .Where(o => o.ClientId == clientId).Select(o => o.OwnerId).SingleOrDefaultAsync(cancellationToken);
        ClientBilling billing;
        if (owner is not null)
        {
            billing = new ClientBilling(owner, null, ExpiresAt());
        }
        else
        {
            var tier = await context.ClientTiers.AsNoTracking().SingleOrDefaultAsync(t => t.ClientId == clientId, cancellationToken);
            var name = tier?.Tier ?? AccountTiers.Free;
            billing = new ClientBilling(
                null, new AccountLimit(cacheKey, name, options.Value.LimitOf(name, tier?.RequestsPerMinute), null, ExpiresAt()), ExpiresAt());
        }

        Remember(cacheKey, billing, generation);
        return billing;
    }

    private long ExpiresAt() => Environment.TickCount64 + (long)caching.Value.Payers.TotalMilliseconds;

    private void Remember(string key, object? value, long generation) =>
        _cache.Set(key, value, generation, caching.Value.Payers);

    public void Dispose() => _cache.Dispose();
}
