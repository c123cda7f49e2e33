using AuthServer.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Core;
using OpenIddict.EntityFrameworkCore.Models;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.OAuth;

/// <summary>
/// OpenIddict's token manager with two changes:
/// <list type="bullet">
/// <item>A redemption is one conditional write (<see cref="TokenRedemption"/>): of two requests redeeming the same
/// code or refresh token exactly one wins, and nothing is redeemed whose status changed or whose authorization was
/// revoked since it was read. OpenIddict 7.9 checks the concurrency token alone, which a bulk revocation does not
/// change (GHSA-7rcv-637m-gmc3 and GHSA-46m5-h4wg-43f6, fixed upstream in 7.10).</item>
/// <item>Every revocation or deletion made through it tells <see cref="AccessTokenStatus"/>, so the server's own APIs
/// refuse a revoked access token at once on this node.</item>
/// </list>
/// </summary>
internal class TokenManager(
    IOpenIddictTokenCache<OpenIddictEntityFrameworkCoreToken> cache,
    ILogger<OpenIddictTokenManager<OpenIddictEntityFrameworkCoreToken>> logger,
    IOptionsMonitor<OpenIddictCoreOptions> options,
    IOpenIddictTokenStore<OpenIddictEntityFrameworkCoreToken> store,
    AuthDbContext context,
    AccessTokenStatus tokenStatus,
    TimeProvider clock)
    : OpenIddictTokenManager<OpenIddictEntityFrameworkCoreToken>(cache, logger, options, store)
{
    public override async ValueTask<bool> TryRedeemAsync(OpenIddictEntityFrameworkCoreToken token, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (await TokenRedemption.TryAsync(context, token, clock.GetUtcNow(), cancellationToken))
        {
            return true;
        }

        // Lost: the caller reads the entry as it is now.
        await TokenRedemption.ReloadAsync(context, token, cancellationToken);
        return false;
    }

    public override async ValueTask<bool> TryRevokeAsync(OpenIddictEntityFrameworkCoreToken token, CancellationToken cancellationToken = default)
    {
        var revoked = await base.TryRevokeAsync(token, cancellationToken);
        tokenStatus.InvalidateAll();
        return revoked;
    }

    public override async ValueTask<long> RevokeByAuthorizationIdAsync(string identifier, CancellationToken cancellationToken = default)
    {
        var count = await base.RevokeByAuthorizationIdAsync(identifier, cancellationToken);
        tokenStatus.InvalidateAll();
        return count;
    }

    public override async ValueTask<long> RevokeByApplicationIdAsync(string identifier, CancellationToken cancellationToken = default)
    {
        var count = await base.RevokeByApplicationIdAsync(identifier, cancellationToken);
        tokenStatus.InvalidateAll();
        return count;
    }

    public override async ValueTask<long> RevokeBySubjectAsync(string subject, CancellationToken cancellationToken = default)
    {
        var count = await base.RevokeBySubjectAsync(subject, cancellationToken);
        tokenStatus.InvalidateAll();
        return count;
    }

    public override async ValueTask<long> RevokeAsync(string? subject, string? client, string? status, string? type, CancellationToken cancellationToken = default)
    {
        var count = await base.RevokeAsync(subject, client, status, type, cancellationToken);
        tokenStatus.InvalidateAll();
        return count;
    }

    public override async ValueTask DeleteAsync(OpenIddictEntityFrameworkCoreToken token, CancellationToken cancellationToken = default)
    {
        await base.DeleteAsync(token, cancellationToken);
        tokenStatus.InvalidateAll();
    }
}

/// <summary>The redemption of a code or refresh token as one conditional write.</summary>
internal static class TokenRedemption
{
    /// <summary>
    /// Marks <paramref name="token"/> redeemed if, in the database, it is still valid, still carries the concurrency
    /// token it was read with, and its authorization (if any) is still valid; false otherwise. On success the entity
    /// carries the new values and EF Core sees it unchanged.
    /// </summary>
    public static async Task<bool> TryAsync(
        AuthDbContext context, OpenIddictEntityFrameworkCoreToken token, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var id = token.Id!;
        var readConcurrencyToken = token.ConcurrencyToken;
        var redeemedAt = token.RedemptionDate ?? now.UtcDateTime;
        var concurrencyToken = Guid.NewGuid().ToString();

        // Every condition on the token is on the row being updated, and the authorization is asked by EXISTS: with a
        // join, EF Core writes UPDATE ... FROM (SELECT ...) and PostgreSQL, after waiting for a concurrent redemption's
        // lock, checks again only the join, not the status the subquery read, so both redemptions would win.
        var authorizations = context.Set<OpenIddictEntityFrameworkCoreAuthorization>();
        var updated = await context.Set<OpenIddictEntityFrameworkCoreToken>()
            .Where(row => row.Id == id
                && row.Status == Statuses.Valid
                && row.ConcurrencyToken == readConcurrencyToken
                && (EF.Property<string?>(row, "AuthorizationId") == null
                    || authorizations.Any(authorization => authorization.Id == EF.Property<string?>(row, "AuthorizationId")
                        && authorization.Status == Statuses.Valid)))
            .ExecuteUpdateAsync(row => row
                .SetProperty(entry => entry.Status, Statuses.Redeemed)
                .SetProperty(entry => entry.RedemptionDate, redeemedAt)
                .SetProperty(entry => entry.ConcurrencyToken, concurrencyToken), cancellationToken);
        if (updated != 1)
        {
            return false;
        }

        token.Status = Statuses.Redeemed;
        token.RedemptionDate = redeemedAt;
        token.ConcurrencyToken = concurrencyToken;
        var entry = context.Entry(token);
        if (entry.State != EntityState.Detached)
        {
            entry.State = EntityState.Unchanged;
        }

        return true;
    }

    /// <summary>Reads the entry again, so that what a caller checks next is the database's state, not the one read.</summary>
    public static async Task ReloadAsync(AuthDbContext context, OpenIddictEntityFrameworkCoreToken token, CancellationToken cancellationToken)
    {
        var entry = context.Entry(token);
        if (entry.State != EntityState.Detached)
        {
            await entry.ReloadAsync(cancellationToken);
        }
    }
}
