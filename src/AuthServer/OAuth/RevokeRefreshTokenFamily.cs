using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace AuthServer.OAuth;

/// <summary>
/// Revoking a refresh token ends its whole family: every token issued under the same authorization (earlier and
/// later refresh tokens, the access tokens), and the authorization itself. OpenIddict revokes only the token
/// presented; RFC 7009 §2.1 allows, and RFC 9700 §4.14 recommends, ending the grant.
/// </summary>
internal sealed class RevokeRefreshTokenFamily(TokenFamilies families)
    : IOpenIddictServerHandler<HandleRevocationRequestContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<HandleRevocationRequestContext>()
            .UseScopedHandler<RevokeRefreshTokenFamily>()
            .SetOrder(OpenIddictServerHandlers.Revocation.RevokeToken.Descriptor.Order + 1_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(HandleRevocationRequestContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        var principal = context.GenericTokenPrincipal;
        if (principal is null || !principal.HasTokenType(TokenTypeIdentifiers.RefreshToken)
            || principal.GetAuthorizationId() is not { Length: > 0 } authorizationId)
        {
            return;
        }

        await families.RevokeAsync(authorizationId, context.CancellationToken);
    }
}
