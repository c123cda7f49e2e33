using System.Collections.Immutable;
using System.Security.Claims;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace AuthServer.OAuth;

/// <summary>
/// Answers <c>client_credentials</c> token requests inside OpenIddict's pipeline, where the other grants pass through
/// to <see cref="AuthorizationController.Exchange"/>. A service's token needs no account, consent or page, only the
/// client OpenIddict has already authenticated and the scopes it has already checked against the client's permissions;
/// handling it here spares each token the MVC action (routing to a controller, creating it with Identity's managers,
/// a second authentication round to sign in).
/// </summary>
internal sealed class ClientCredentialsGrant(
    IOpenIddictApplicationManager applications, IOpenIddictScopeManager scopes, IOptions<OAuthOptions> oauth)
    : IOpenIddictServerHandler<HandleTokenRequestContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<HandleTokenRequestContext>()
            .UseScopedHandler<ClientCredentialsGrant>()
            .SetOrder(OpenIddictServerHandlers.Exchange.AttachPrincipal.Descriptor.Order + 1_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    /// <summary>
    /// A service acting as itself: the token's subject is the client, and it carries the scopes asked for (OpenIddict
    /// has checked each against the client's permissions), or every platform scope the client may have.
    /// </summary>
    public async ValueTask HandleAsync(HandleTokenRequestContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.Request.IsClientCredentialsGrantType())
        {
            return;
        }

        var application = await applications.FindByClientIdAsync(context.Request.ClientId!, context.CancellationToken);
        if (application is null)
        {
            context.Reject(Errors.InvalidClient, "The client is unknown.");
            return;
        }

        var identity = new ClaimsIdentity(
            authenticationType: TokenValidationParameters.DefaultAuthenticationType,
            nameType: Claims.Name,
            roleType: Claims.Role);
        identity.SetClaim(Claims.Subject, context.Request.ClientId)
            .SetClaim(Claims.Name, await applications.GetDisplayNameAsync(application, context.CancellationToken));

        // No scope asked for: every scope the client may have, but none that only makes sense for a person.
        var granted = context.Request.GetScopes();
        if (granted.IsEmpty)
        {
            granted = DefaultScopes(await applications.GetPermissionsAsync(application, context.CancellationToken));
        }

        identity.SetScopes(granted);
        identity.SetResources(await scopes.AudiencesAsync(oauth.Value.Audience, granted, context.CancellationToken));
        identity.SetDestinations(static _ => [Destinations.AccessToken]);
        context.SignIn(new ClaimsPrincipal(identity));
    }

    /// <summary>What a service gets when it asks for no scope: every scope it is allowed, but none for a person.</summary>
    internal static ImmutableArray<string> DefaultScopes(ImmutableArray<string> permissions) =>
        [.. permissions
            .Where(permission => permission.StartsWith(Permissions.Prefixes.Scope, StringComparison.Ordinal))
            .Select(permission => permission[Permissions.Prefixes.Scope.Length..])
            .Where(scope => !IsPersonScope(scope))];

    /// <summary>Scopes that only make sense for a person signing in.</summary>
    internal static bool IsPersonScope(string scope) =>
        scope is Scopes.OpenId or Scopes.Profile or Scopes.Email or Scopes.OfflineAccess;

    /// <summary>
    /// Takes the place of OpenIddict's pass-through of token requests (which hands every grant to the controller):
    /// every grant but <c>client_credentials</c> still goes to the controller.
    /// </summary>
    internal sealed class PassOtherGrantsThrough : IOpenIddictServerHandler<HandleTokenRequestContext>
    {
        /// <summary>The built-in pass-through this one replaces.</summary>
        public static OpenIddictServerHandlerDescriptor Replaced { get; } = OpenIddictServerAspNetCoreHandlers.EnablePassthroughMode<
            HandleTokenRequestContext, OpenIddictServerAspNetCoreHandlerFilters.RequireTokenEndpointPassthroughEnabled>.Descriptor;

        public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
            OpenIddictServerHandlerDescriptor.CreateBuilder<HandleTokenRequestContext>()
                .AddFilter<OpenIddictServerAspNetCoreHandlerFilters.RequireHttpRequest>()
                .AddFilter<OpenIddictServerAspNetCoreHandlerFilters.RequireTokenEndpointPassthroughEnabled>()
                .UseSingletonHandler<PassOtherGrantsThrough>()
                .SetOrder(Replaced.Order)
                .SetType(OpenIddictServerHandlerType.Custom)
                .Build();

        public ValueTask HandleAsync(HandleTokenRequestContext context)
        {
            ArgumentNullException.ThrowIfNull(context);
            if (!context.Request.IsClientCredentialsGrantType())
            {
                context.SkipRequest();
            }

            return default;
        }
    }
}
