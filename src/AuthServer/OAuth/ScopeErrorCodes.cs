using AuthServer.Core;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace AuthServer.OAuth;

/// <summary>
/// A request for a scope the client may not have is answered <c>invalid_scope</c>, as RFC 6749 §4.1.2.1 and §5.2 say;
/// OpenIddict answers a scope the client is not permitted with <c>invalid_request</c> (ID2051) and a refresh asking
/// for more than was granted with <c>invalid_grant</c> (ID2052).
/// </summary>
/// <remarks>
/// Note: only those two OpenIddict errors, recognised by their error URI (and, for ID2052, which also reports a bad
/// <c>code_verifier</c>, by the parameter it names), are rewritten; every other error passes through untouched.
/// </remarks>
internal sealed class ScopeErrorCodes : IOpenIddictServerHandler<ApplyTokenResponseContext>, IOpenIddictServerHandler<ApplyAuthorizationResponseContext>
{
    private static readonly string ScopeNotPermittedUri = OpenIddictResources.FormatID8000(OpenIddictResources.ID2051);
    private static readonly string ScopeNotGrantedUri = OpenIddictResources.FormatID8000(OpenIddictResources.ID2052);

    public static OpenIddictServerHandlerDescriptor TokenDescriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyTokenResponseContext>()
            .UseSingletonHandler<ScopeErrorCodes>()
            .SetOrder(int.MinValue + 50_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public static OpenIddictServerHandlerDescriptor AuthorizationDescriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyAuthorizationResponseContext>()
            .UseSingletonHandler<ScopeErrorCodes>()
            .SetOrder(int.MinValue + 50_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public ValueTask HandleAsync(ApplyTokenResponseContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Rewrite(context.Response);
        return default;
    }

    public ValueTask HandleAsync(ApplyAuthorizationResponseContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Rewrite(context.Response);
        return default;
    }

    private static void Rewrite(OpenIddictResponse response)
    {
        if (response.Error == Errors.InvalidRequest && response.ErrorUri == ScopeNotPermittedUri)
        {
            response.Error = Errors.InvalidScope;
            response.ErrorDescription = "The client is not allowed to request this scope.";
        }
        else if (response.Error == Errors.InvalidGrant && response.ErrorUri == ScopeNotGrantedUri
            && response.ErrorDescription?.Contains($"'{Parameters.Scope}'", StringComparison.Ordinal) == true)
        {
            response.Error = Errors.InvalidScope;
            response.ErrorDescription = "The requested scope exceeds the scope originally granted.";
        }
        else
        {
            return;
        }

        response.ErrorUri = null;
    }

    /// <summary>
    /// The <c>admin</c> scope is granted only to admin clients through <c>client_credentials</c>: an authorization
    /// request for it is refused whatever the client's permissions, so a person's approval can never make an app an
    /// admin.
    /// </summary>
    internal sealed class RejectAdminScope : IOpenIddictServerHandler<ValidateAuthorizationRequestContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
            OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateAuthorizationRequestContext>()
                .UseSingletonHandler<RejectAdminScope>()
                .SetOrder(OpenIddictServerHandlers.Authentication.ValidateScopePermissions.Descriptor.Order - 1)
                .SetType(OpenIddictServerHandlerType.Custom)
                .Build();

        public ValueTask HandleAsync(ValidateAuthorizationRequestContext context)
        {
            ArgumentNullException.ThrowIfNull(context);
            if (context.Request.HasScope(PlatformScopes.Admin))
            {
                context.Reject(Errors.InvalidScope, "The admin scope cannot be requested through the authorization endpoint.");
            }

            return default;
        }
    }
}
