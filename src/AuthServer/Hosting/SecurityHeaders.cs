using AuthServer.Core;

namespace AuthServer.Hosting;

/// <summary>
/// Headers that keep the server's pages from running anything but their own script: a Content-Security-Policy whose
/// <c>script-src</c> is this origin only (no inline script, no event-handler attributes), no framing, no
/// <c>&lt;base&gt;</c>, no plugins; and no MIME sniffing.
/// </summary>
/// <remarks>
/// Note: <c>form-action</c> is left out on purpose. Chromium applies it to the redirects that follow a form POST, and
/// the consent form's answer is a redirect to the client's own redirect URI.
/// </remarks>
internal static class SecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

    /// <summary>
    /// The API reference page (<c>/docs/api</c>, Scalar) writes its configuration and styles inline; it renders only
    /// the server's own OpenAPI document and holds no session, so inline code is allowed there and nowhere else.
    /// </summary>
    public const string ApiReferencePolicy =
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        + "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

    /// <summary>Goes first in the pipeline of pages and OAuth endpoints, so that error pages carry the headers too.</summary>
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            context.Response.OnStarting(static state =>
            {
                var response = (HttpResponse)state;
                var headers = response.Headers;
                headers.ContentSecurityPolicy = Routes.IsUnder(response.HttpContext.Request.Path, Routes.ApiReference)
                    ? ApiReferencePolicy
                    : ContentSecurityPolicy;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                return Task.CompletedTask;
            }, context.Response);
            return next(context);
        });
}
