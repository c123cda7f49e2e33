using System.Security.Claims;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace AuthServer.OAuth;

/// <summary>
/// Ends a grant: every token issued under an authorization (codes, access and refresh tokens) and the authorization
/// itself, so that nothing issued from it, not even in a race with this revocation, can be used or redeemed later.
/// </summary>
internal sealed class TokenFamilies(IOpenIddictTokenManager tokens, IOpenIddictAuthorizationManager authorizations)
{
    public async ValueTask RevokeAsync(string? authorizationId, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(authorizationId))
        {
            return;
        }

        await tokens.RevokeByAuthorizationIdAsync(authorizationId, cancellationToken);
        if (await authorizations.FindByIdAsync(authorizationId, cancellationToken) is { } authorization
            && !await authorizations.HasStatusAsync(authorization, Statuses.Revoked, cancellationToken))
        {
            await authorizations.TryRevokeAsync(authorization, cancellationToken);
        }
    }
}

/// <summary>
/// When a rotated refresh token may be presented again (RFC 9700 §4.14.2): only by a confidential client, and only
/// within <see cref="OAuthOptions.RefreshTokenReuseLeeway"/> of its redemption (a retry after a lost response). A
/// public client's second use of a refresh token is always a replay.
/// </summary>
internal sealed class RefreshTokenReuse(
    IOpenIddictTokenManager tokens, IOpenIddictApplicationManager applications, IOptions<OAuthOptions> options, TimeProvider clock)
{
    /// <param name="token">The token entry, as it is in the database now.</param>
    /// <param name="cancellationToken">Cancels the lookups.</param>
    public async ValueTask<bool> IsAllowedAsync(object token, CancellationToken cancellationToken)
    {
        var leeway = options.Value.RefreshTokenReuseLeeway;
        if (leeway <= TimeSpan.Zero
            || !await tokens.HasTypeAsync(token, TokenTypeIdentifiers.RefreshToken, cancellationToken)
            || !await tokens.HasStatusAsync(token, Statuses.Redeemed, cancellationToken)
            || await tokens.GetRedemptionDateAsync(token, cancellationToken) is not { } redeemedAt
            || clock.GetUtcNow() >= redeemedAt + leeway)
        {
            return false;
        }

        return await tokens.GetApplicationIdAsync(token, cancellationToken) is { } applicationId
            && await applications.FindByIdAsync(applicationId, cancellationToken) is { } application
            && await applications.HasClientTypeAsync(application, ClientTypes.Confidential, cancellationToken);
    }
}

/// <summary>
/// A code or refresh token presented after it was redeemed is a replay (RFC 6749 §4.1.2, RFC 9700 §4.14.2): its whole
/// family is revoked, the authorization included, and the request is refused. OpenIddict's own check (which runs next,
/// and only for a reuse allowed by <see cref="RefreshTokenReuse"/>) revokes the tokens but leaves the authorization
/// valid, so a token issued in a race with that revocation could still be redeemed.
/// </summary>
internal sealed class RejectReplayedTokens(IOpenIddictTokenManager tokens, RefreshTokenReuse reuse, TokenFamilies families)
    : IOpenIddictServerHandler<ValidateTokenContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenContext>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireDegradedModeDisabled>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireTokenStorageEnabled>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireTokenIdResolved>()
            .UseScopedHandler<RejectReplayedTokens>()
            .SetOrder(OpenIddictServerHandlers.Protection.ValidateTokenEntry.Descriptor.Order - 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(ValidateTokenContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (await tokens.FindByIdAsync(context.TokenId!, context.CancellationToken) is not { } token
            || !await tokens.HasStatusAsync(token, Statuses.Redeemed, context.CancellationToken)
            || await reuse.IsAllowedAsync(token, context.CancellationToken))
        {
            return;
        }

        await families.RevokeAsync(context.AuthorizationId, context.CancellationToken);
        context.Logger.LogWarning("The {Type} {TokenId} was presented again after its redemption; its authorization {AuthorizationId} and every token of it are revoked.",
            context.Principal?.GetTokenType(), context.TokenId, context.AuthorizationId);
        Replay.Reject(context, context.Principal);
    }
}

/// <summary>
/// Takes the place of OpenIddict's <c>RedeemTokenEntry</c>: the presented code or refresh token is redeemed in one
/// conditional write (<see cref="TokenManager.TryRedeemAsync"/>), and a redemption that fails (another request
/// redeemed it first, or the grant was revoked meanwhile) counts as a replay: the family is revoked and nothing is
/// issued. OpenIddict's handler lets a refresh go on when its write fails.
/// The one exception is the reuse <see cref="RefreshTokenReuse"/> allows.
/// </summary>
internal sealed class RedeemTokenEntryOnce(IOpenIddictTokenManager tokens, RefreshTokenReuse reuse, TokenFamilies families)
    : IOpenIddictServerHandler<ProcessSignInContext>
{
    /// <summary>The built-in handler this one replaces.</summary>
    public static OpenIddictServerHandlerDescriptor Replaced { get; } = OpenIddictServerHandlers.RedeemTokenEntry.Descriptor;

    public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireDegradedModeDisabled>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireTokenStorageEnabled>()
            .UseScopedHandler<RedeemTokenEntryOnce>()
            .SetOrder(Replaced.Order)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(ProcessSignInContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.EndpointType != OpenIddictServerEndpointType.Token
            || !(context.Request.IsAuthorizationCodeGrantType() || context.Request.IsRefreshTokenGrantType())
            || (context.Request.IsRefreshTokenGrantType() && context.Options.DisableRollingRefreshTokens))
        {
            return;
        }

        var authentication = context.Transaction.GetProperty<ProcessAuthenticationContext>(typeof(ProcessAuthenticationContext).FullName!)
            ?? throw new InvalidOperationException("The authentication context of the token request is missing.");
        var principal = context.Request.IsAuthorizationCodeGrantType()
            ? authentication.AuthorizationCodePrincipal
            : authentication.RefreshTokenPrincipal;
        if (principal?.GetTokenId() is not { Length: > 0 } tokenId
            || await tokens.FindByIdAsync(tokenId, context.CancellationToken) is not { } token
            || await tokens.TryRedeemAsync(token, context.CancellationToken))
        {
            return;
        }

        // The write found the entry changed: read it as it is now.
        if (await tokens.FindByIdAsync(tokenId, context.CancellationToken) is { } current
            && await reuse.IsAllowedAsync(current, context.CancellationToken))
        {
            return;
        }

        await families.RevokeAsync(principal.GetAuthorizationId(), context.CancellationToken);
        context.Logger.LogWarning("A redemption of {TokenId} lost to another use of it; its authorization {AuthorizationId} and every token of it are revoked.",
            tokenId, principal.GetAuthorizationId());
        Replay.Reject(context, principal);
    }
}

/// <summary>The answer OpenIddict gives a replayed code or refresh token (sent as <c>invalid_grant</c>).</summary>
internal static class Replay
{
    public static void Reject(BaseValidatingContext context, ClaimsPrincipal? principal)
    {
        var id = principal?.GetTokenType() == TokenTypeIdentifiers.RefreshToken ? OpenIddictResources.ID2012 : OpenIddictResources.ID2010;
        context.Reject(Errors.InvalidToken, OpenIddictResources.GetResourceString(id), OpenIddictResources.FormatID8000(id));
    }
}
