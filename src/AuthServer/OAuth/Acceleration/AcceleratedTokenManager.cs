using AuthServer.Data;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Core;
using OpenIddict.EntityFrameworkCore.Models;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.OAuth.Acceleration;

/// <summary>
/// The token manager, with a code presented during a sign-in redeemed in the transaction that stores what is issued
/// for it (<see cref="TokenWriteBatch"/>): one write per redemption instead of two, under the same conditional write.
/// </summary>
internal sealed class AcceleratedTokenManager(
    IOpenIddictTokenCache<OpenIddictEntityFrameworkCoreToken> cache,
    ILogger<OpenIddictTokenManager<OpenIddictEntityFrameworkCoreToken>> logger,
    IOptionsMonitor<OpenIddictCoreOptions> options,
    IOpenIddictTokenStore<OpenIddictEntityFrameworkCoreToken> store,
    AuthDbContext context,
    AccessTokenStatus tokenStatus,
    TimeProvider clock,
    TokenWriteBatch batch)
    : TokenManager(cache, logger, options, store, context, tokenStatus, clock)
{
    public override ValueTask<bool> TryRedeemAsync(OpenIddictEntityFrameworkCoreToken token, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (batch.IsOpen && token.Type == TokenTypeIdentifiers.Private.AuthorizationCode)
        {
            batch.Redeem(token);
            return ValueTask.FromResult(true);
        }

        return base.TryRedeemAsync(token, cancellationToken);
    }
}
