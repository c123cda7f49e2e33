using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using OpenIddict.Validation.AspNetCore;

namespace AuthServer.PlatformApi;

/// <summary>
/// The one authentication scheme of <c>/v1</c>: <c>Authorization: Bearer</c> with an access token issued by this
/// server (validated in-process against the signing keys, without a database round trip). It answers failures the
/// way RFC 6750 asks, with a JSON body and a <c>WWW-Authenticate</c> header, never an HTML page or a redirect.
/// </summary>
internal sealed class PlatformBearerHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "PlatformBearer";
    private const string FailureItem = "platform.auth.failure";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header))
        {
            return Fail("The request has no credentials: send 'Authorization: Bearer <token>'.");
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length <= "Bearer ".Length)
        {
            return Fail("The Authorization header must use the Bearer scheme.");
        }

        var result = await Context.AuthenticateAsync(OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme);
        if (!result.Succeeded || result.Principal is null)
        {
            return Fail("The access token is invalid or expired.");
        }

        return AuthenticateResult.Success(new AuthenticationTicket(result.Principal, SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var message = Context.Items[FailureItem] as string ?? "Authentication is required.";
        return PlatformErrors.WriteAsync(Context, StatusCodes.Status401Unauthorized, PlatformErrors.InvalidToken, message);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var required = Context.GetEndpoint()?.Metadata.GetMetadata<RequiredScopes>();
        var message = required is null
            ? "The credential does not grant access to this resource."
            : $"This endpoint requires one of these scopes: {string.Join(' ', required.AnyOf)}.";
        return PlatformErrors.WriteAsync(
            Context, StatusCodes.Status403Forbidden, PlatformErrors.InsufficientScope, message, required?.AnyOf);
    }

    private AuthenticateResult Fail(string message)
    {
        Context.Items[FailureItem] = message;
        return AuthenticateResult.Fail(message);
    }
}
