using System.Text.Encodings.Web;
using AuthServer.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace AuthServer.PlatformApi;

/// <summary>
/// The platform credential (API key or access token, see <see cref="PlatformCredentials"/>) as an ASP.NET Core
/// authentication scheme, for the admin API's bearer callers. <c>/v1</c> itself does not go through the
/// authentication service: its gate reads the credential directly. Failures are answered in the admin API's error
/// shape with the RFC 6750 <c>WWW-Authenticate</c> header, never an HTML page or a redirect.
/// </summary>
internal sealed class PlatformBearerHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    PlatformCredentials credentials)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "PlatformBearer";

    /// <summary>The claim naming the API key a call was made with.</summary>
    public const string ApiKeyIdClaim = "api_key_id";

    /// <summary>The claim naming how the caller authenticated: <c>api_key</c> or <c>access_token</c>.</summary>
    public const string CredentialTypeClaim = "credential_type";

    /// <summary>The <see cref="CredentialTypeClaim"/> of an access token.</summary>
    public const string AccessTokenCredential = "access_token";

    /// <summary>The <see cref="CredentialTypeClaim"/> of an API key.</summary>
    public const string ApiKeyCredential = "api_key";

    private const string FailureItem = "platform.auth.failure";
    private const string UnavailableItem = "platform.auth.unavailable";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var result = await credentials.AuthenticateAsync(Request, Context.RequestAborted);
        if (result.Caller is { } caller)
        {
            return AuthenticateResult.Success(new AuthenticationTicket(caller.Principal, SchemeName));
        }

        Context.Items[FailureItem] = result.Message;
        if (result.Failure == PlatformAuthFailure.Unavailable)
        {
            Context.Items[UnavailableItem] = true;
        }

        return AuthenticateResult.Fail(result.Message!);
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        Context.Items.ContainsKey(UnavailableItem)
            ? OAuthErrors.WriteUnavailableAsync(Context, "Credentials cannot be checked right now; retry shortly.")
            : OAuthErrors.WriteAsync(
                Context, StatusCodes.Status401Unauthorized, OAuthErrors.InvalidToken,
                Context.Items[FailureItem] as string ?? "Authentication is required.");

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        OAuthErrors.WriteAsync(
            Context, StatusCodes.Status403Forbidden, OAuthErrors.InsufficientScope,
            "The credential does not grant access to this resource.", PlatformScopes.Admin);
}
