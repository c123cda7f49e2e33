using AuthServer.Core;
using AuthServer.Data;
using AuthServer.PlatformApi;
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

/// <summary>
/// Resolves the paying account of a call (and remembers the account's profile with it): an API key's owner; for an access token, the developer who registered
/// the client, or the client itself when an admin registered it (it carries its own tier). Tiers and ownership are
/// cached for <see cref="RateLimitOptions.PayerCacheDuration"/>, so the hot path does no database work, and a
/// tier change made on this node is applied at once (<see cref="ForgetAccount"/>).
/// The payer resolved for a caller is also kept on the caller itself (one is shared by every call made with the same
/// credential), so a repeat call costs two field reads: no cache lookup, no key string, no allocation. That memo
/// expires with the cache entries it was built from and is dropped by any <c>Forget</c> on this node.
/// </summary>
internal sealed class PayerResolver(IServiceScopeFactory scopes, IOptions<RateLimitOptions> options) : IDisposable
{
    // Accounts and clients; every Forget moves its generation, and a memo taken before that is stale too.
    private readonly NodeCache<object?> _cache = new(sizeLimit: 100_000);

    /// <summary>What a node remembers of an account: its limit, and the profile <c>/v1/user/profile</c> returns.</summary>
    /// <param name="LimitKey">The counter its calls are charged to, built once.</param>
    /// <param name="Tier">The tier's name.</param>
    /// <param name="Limit">Requests per minute.</param>
    /// <param name="Profile">What <c>/v1/user/profile</c> returns (accounts only).</param>
    /// <param name="ExpiresAt">When the cache entry holding it expires (<see cref="Environment.TickCount64"/>).</param>
    private sealed record AccountLimit(string LimitKey, string Tier, int Limit, UserProfile? Profile, long ExpiresAt);

    private sealed record ClientBilling(string? OwnerId, AccountLimit? Own, long ExpiresAt);

    /// <summary>The payer, or <see langword="null"/> when the credential names no account or client that exists.</summary>
    public ValueTask<Payer?> ResolveAsync(PlatformCaller caller, CancellationToken cancellationToken)
    {
        if (caller.PayerMemo is { } memo
            && memo.Generation == _cache.Generation
            && Environment.TickCount64 < memo.ExpiresAt)
        {
            return ValueTask.FromResult<Payer?>(memo.Payer);
        }

        return ResolveAndRememberAsync(caller, cancellationToken);
    }

    private async ValueTask<Payer?> ResolveAndRememberAsync(PlatformCaller caller, CancellationToken cancellationToken)
    {
        // Read before resolving: a Forget racing with this resolution leaves a memo that is already stale.
        var generation = _cache.Generation;
        var (payer, expiresAt) = await ResolveUncachedAsync(caller, cancellationToken);
        if (payer is not null && options.Value.PayerCacheDuration > TimeSpan.Zero)
        {
            caller.PayerMemo = new PayerMemo(payer, generation, expiresAt);
        }

        return payer;
    }

    private async ValueTask<(Payer? Payer, long ExpiresAt)> ResolveUncachedAsync(PlatformCaller caller, CancellationToken cancellationToken)
    {
        if (caller.KeyId is not null)
        {
            var limit = caller.Subject is { } owner ? await AccountAsync(owner, cancellationToken) : null;
            return limit is null
                ? (null, 0)
                : (new Payer(limit.LimitKey, caller.Subject!, caller.Credential, limit.Tier, limit.Limit), limit.ExpiresAt);
        }

        if (caller.ClientId is not { } clientId)
        {
            return (null, 0);
        }

        var billing = await ClientAsync(clientId, cancellationToken);
        if (billing.OwnerId is { } ownerId)
        {
            var limit = await AccountAsync(ownerId, cancellationToken);
            return limit is null
                ? (null, 0)
                : (new Payer(limit.LimitKey, ownerId, caller.Credential, limit.Tier, limit.Limit), Math.Min(billing.ExpiresAt, limit.ExpiresAt));
        }

        var own = billing.Own!;
        return (new Payer(own.LimitKey, "", caller.Credential, own.Tier, own.Limit), billing.ExpiresAt);
    }

    /// <summary>The tier and limit of an account (cached).</summary>
    public async ValueTask<(string Tier, int Limit)?> AccountLimitAsync(string accountId, CancellationToken cancellationToken) =>
        await AccountAsync(accountId, cancellationToken) is { } limit ? (limit.Tier, limit.Limit) : null;

    /// <summary>The profile of an account, from the same cached read as its tier (no database read per call).</summary>
    public async ValueTask<UserProfile?> ProfileAsync(string accountId, CancellationToken cancellationToken) =>
        (await AccountAsync(accountId, cancellationToken))?.Profile;

    public void ForgetAccount(string accountId) => _cache.Invalidate("account:" + accountId);

    public void ForgetClient(string clientId) => _cache.Invalidate("client:" + clientId);

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
                new UserProfile(account.Id, account.Email, account.DisplayName ?? account.UserName),
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

    private long ExpiresAt() => Environment.TickCount64 + (long)options.Value.PayerCacheDuration.TotalMilliseconds;

    private void Remember(string key, object? value, long generation) =>
        _cache.Set(key, value, generation, options.Value.PayerCacheDuration);

    public void Dispose() => _cache.Dispose();
}

/// <summary>A caller's resolved payer, valid until <paramref name="ExpiresAt"/> unless a <c>Forget</c> came after <paramref name="Generation"/>.</summary>
internal sealed record PayerMemo(Payer Payer, long Generation, long ExpiresAt);
