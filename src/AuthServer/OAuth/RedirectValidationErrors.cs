using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace AuthServer.OAuth;

/// <summary>
/// Sends authorization request errors back to the client when its redirect URI is known to be registered.
/// </summary>
/// <remarks>
/// OpenIddict shows every error raised while validating an authorization request on the server, because it cannot
/// know at that stage whether the redirect URI is trustworthy. RFC 6749 §4.1.2.1 asks for the opposite once client
/// and redirect URI check out: the client must learn of the error (with <c>state</c>, and <c>iss</c> per RFC 9207)
/// so it can recover. This handler runs right after OpenIddict resolved the redirect URI, and supplies one only
/// when the client exists and the URI is one it registered, compared exactly as OpenIddict does. An unknown client
/// or an unregistered redirect URI still ends on the server's error page.
/// </remarks>
internal sealed class RedirectValidationErrors(IOpenIddictApplicationManager applications)
    : IOpenIddictServerHandler<ApplyAuthorizationResponseContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyAuthorizationResponseContext>()
            .UseScopedHandler<RedirectValidationErrors>()
            .SetOrder(OpenIddictServerHandlers.Authentication.AttachRedirectUri.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(ApplyAuthorizationResponseContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        if (!string.IsNullOrEmpty(context.RedirectUri)
            || string.IsNullOrEmpty(context.Response.Error)
            || context.Request is not { ClientId: { Length: > 0 } clientId, RedirectUri: { Length: > 0 } redirectUri })
        {
            return;
        }

        var application = await applications.FindByClientIdAsync(clientId);
        if (application is not null && await applications.ValidateRedirectUriAsync(application, redirectUri))
        {
            context.RedirectUri = redirectUri;
        }
    }
}
