using System.Security.Claims;
using System.Text.Encodings.Web;
using AuthServer.ApiKeys;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.PlatformApi;

/// <summary>
/// The one authentication scheme of <c>/v1</c>: <c>Authorization: Bearer</c> with either an API key (told apart by
/// its <c>aip_</c> prefix) or an access token issued by this server (validated in-process against the signing keys,
/// without a database round trip). Failures are answered the way RFC 6750 asks, with a JSON body and a
/// <c>WWW-Authenticate</c> header, never an HTML page or a redirect.
/// </summary>
internal sealed class PlatformBearerHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyAuthenticator apiKeys,
    AccessTokenValidator accessTokens)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "PlatformBearer";

    /// <summary>The claim naming the API key a call was made with.</summary>
    public const string ApiKeyIdClaim = "api_key_id";

    /// <summary>The claim naming how the caller authenticated: <c>api_key</c> or <c>access_token</c>.</summary>
    public const string CredentialTypeClaim = "credential_type";

    /// <summary>The <see cref="ApiKeyRecord"/> of a key refused as expired or revoked, for the activity monitor.</summary>
    public const string RefusedKeyItem = "platform.auth.refused_key";

    private const string FailureItem = "platform.auth.failure";
    private const string UnavailableItem = "platform.auth.unavailable";
    private const string BearerPrefix = "Bearer ";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header))
        {
            return Fail("The request has no credentials: send 'Authorization: Bearer <API key or access token>'.");
        }

        if (!header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase) || header.Length <= BearerPrefix.Length)
        {
            return Fail("The Authorization header must use the Bearer scheme.");
        }

        var credential = header[BearerPrefix.Length..].Trim();
        return ApiKeyFormat.LooksLikeKey(credential)
            ? await AuthenticateApiKeyAsync(credential)
            : await AuthenticateAccessTokenAsync(credential);
    }

    private async Task<AuthenticateResult> AuthenticateApiKeyAsync(string credential)
    {
        var (result, key) = await apiKeys.CheckAsync(credential, Context.RequestAborted);
        switch (result)
        {
            case ApiKeyCheck.Valid:
                var identity = new ClaimsIdentity(SchemeName, Claims.Name, Claims.Role);
                identity.SetClaim(Claims.Subject, key!.OwnerId)
                    .SetClaim(ApiKeyIdClaim, key.Id)
                    .SetClaim(CredentialTypeClaim, "api_key")
                    .SetScopes(key.Scopes);
                return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));

            // Unknown and malformed keys get the same answer: the response must not tell whether a key exists.
            case ApiKeyCheck.Malformed:
                return Fail("The API key is malformed (check for a typo or a truncated copy).");
            case ApiKeyCheck.Unknown:
                return Fail("The API key is not valid.");
            case ApiKeyCheck.Expired:
                Context.Items[RefusedKeyItem] = key;
                return Fail("The API key has expired; create a new one.");
            case ApiKeyCheck.Revoked:
                Context.Items[RefusedKeyItem] = key;
                return Fail("The API key has been revoked.");
            default:
                Context.Items[UnavailableItem] = true;
                return Fail("The credential store is unavailable.");
        }
    }

    private async Task<AuthenticateResult> AuthenticateAccessTokenAsync(string credential)
    {
        var issuer = $"{Request.Scheme}://{Request.Host}{Request.PathBase}/";
        if (await accessTokens.ValidateAsync(credential, issuer, SchemeName) is not { } identity)
        {
            return Fail("The access token is invalid or expired.");
        }

        identity.SetClaim(CredentialTypeClaim, "access_token");
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items.ContainsKey(UnavailableItem))
        {
            // Never 401 here: a client told its key is invalid would throw a good key away.
            Response.Headers.RetryAfter = "5";
            return PlatformErrors.WriteAsync(
                Context, StatusCodes.Status503ServiceUnavailable, PlatformErrors.ServiceUnavailable,
                "Credentials cannot be checked right now; retry shortly.");
        }

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
