using System.Collections.Immutable;
using System.Security.Claims;
using AuthServer.Core;
using AuthServer.Data;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.OAuth;

/// <summary>
/// The interactive and token endpoints, in the shape of OpenIddict's own samples so that they compare line by line.
/// OpenIddict has already validated the protocol request (client, redirect URI, PKCE, scopes) when an action runs.
/// </summary>
[ApiExplorerSettings(IgnoreApi = true)]
public sealed class AuthorizationController(
    IOpenIddictApplicationManager applications,
    IOpenIddictAuthorizationManager authorizations,
    IOpenIddictScopeManager scopeManager,
    SignInManager<ApplicationUser> signIn,
    UserManager<ApplicationUser> users,
    AuthDbContext context,
    IOptions<OAuthOptions> oauth,
    IOptions<Accounts.AccountsOptions> accounts,
    TimeProvider clock) : Controller
{
    /// <summary>The developer who registered the app on the dashboard (their name, or else their email).</summary>
    private async Task<string?> DeveloperOfAsync(string clientId)
    {
        var ownerId = await context.ClientOwners.AsNoTracking()
            .Where(owner => owner.ClientId == clientId)
            .Select(owner => owner.OwnerId)
            .FirstOrDefaultAsync(HttpContext.RequestAborted);
        return ownerId is not null && await users.FindByIdAsync(ownerId) is { } developer
            ? developer.DisplayName is { Length: > 0 } name ? name : developer.Email
            : null;
    }

    [HttpGet("~" + Routes.Authorize), HttpPost("~" + Routes.Authorize)]
    [IgnoreAntiforgeryToken]
    public async Task<IActionResult> Authorize()
    {
        var request = HttpContext.GetOpenIddictServerRequest();
        if (request is null)
        {
            return ErrorPage(new OpenIddictResponse { Error = Errors.InvalidRequest, ErrorDescription = "Not an authorization request." });
        }

        // Send the user to sign in when there is no session, when the client asked for prompt=login, or when the
        // session is older than max_age.
        var session = await HttpContext.AuthenticateAsync(IdentityConstants.ApplicationScheme);
        if (!session.Succeeded || request.HasPromptValue(PromptValues.Login) ||
            (request.MaxAge is not null && session.Properties?.IssuedUtc is not null &&
             clock.GetUtcNow() - session.Properties.IssuedUtc > TimeSpan.FromSeconds(request.MaxAge.Value)))
        {
            if (request.HasPromptValue(PromptValues.None))
            {
                return ForbidWith(Errors.LoginRequired, "The user is not signed in.");
            }

            // prompt=login is removed before the round trip through the sign-in page, or it would loop forever.
            var prompt = string.Join(' ', request.GetPromptValues().Remove(PromptValues.Login));
            var parameters = (Request.HasFormContentType ? Request.Form.AsEnumerable() : Request.Query.AsEnumerable())
                .Where(parameter => parameter.Key != Parameters.Prompt)
                .ToList();
            if (prompt.Length > 0)
            {
                parameters.Add(KeyValuePair.Create(Parameters.Prompt, new StringValues(prompt)));
            }

            return Challenge(
                new AuthenticationProperties { RedirectUri = Request.PathBase + Request.Path + QueryString.Create(parameters) },
                IdentityConstants.ApplicationScheme);
        }

        var user = await users.GetUserAsync(session.Principal!);
        if (user is null || !await signIn.CanSignInAsync(user))
        {
            // The session outlived the account: sign out and start again.
            await signIn.SignOutAsync();
            return Challenge(
                new AuthenticationProperties { RedirectUri = Request.PathBase + Request.Path + Request.QueryString },
                IdentityConstants.ApplicationScheme);
        }

        var application = await applications.FindByClientIdAsync(request.ClientId!);
        if (application is null)
        {
            return ErrorPage(new OpenIddictResponse { Error = Errors.InvalidClient, ErrorDescription = "The client is unknown." });
        }

        // An account whose address is not confirmed lets no app use it; the page offers to confirm and come back.
        if (accounts.Value.RequireConfirmedEmail && !await users.IsEmailConfirmedAsync(user))
        {
            if (request.HasPromptValue(PromptValues.None))
            {
                return ForbidWith(Errors.ConsentRequired, "The user must confirm their email address first.");
            }

            Response.StatusCode = StatusCodes.Status403Forbidden;
            return View("ConfirmEmailFirst", new ConfirmEmailFirstViewModel(
                await applications.GetLocalizedDisplayNameAsync(application) ?? request.ClientId!,
                user.Email,
                Request.PathBase + Request.Path + Request.QueryString));
        }

        // Under systematic consent, or explicit consent asked again with prompt=consent, the consent page is shown
        // whatever was granted before: the earlier grants are not looked up (the page's POST looks them up to reuse one).
        var consentType = await applications.GetConsentTypeAsync(application);
        var existing = consentType == ConsentTypes.Systematic
            || (consentType == ConsentTypes.Explicit && request.HasPromptValue(PromptValues.Consent))
            ? []
            : await FindPermanentAuthorizationsAsync(user, application, request.GetScopes());
        switch (consentType)
        {
            case ConsentTypes.External when existing.Count == 0:
                return ForbidWith(Errors.ConsentRequired, "The user is not allowed to use this application.");

            // Consent already given for these scopes (or not needed): answer without asking again.
            case ConsentTypes.Implicit:
            case ConsentTypes.External:
            case ConsentTypes.Explicit when existing.Count > 0 && !request.HasPromptValue(PromptValues.Consent):
                return await IssueAsync(user, application, request.GetScopes(), existing.LastOrDefault());

            case ConsentTypes.Explicit when request.HasPromptValue(PromptValues.None):
            case ConsentTypes.Systematic when request.HasPromptValue(PromptValues.None):
                return ForbidWith(Errors.ConsentRequired, "Interactive user consent is required.");

            default:
                var links = AppLinks.From(await applications.GetPropertiesAsync(application));
                return View(new ConsentViewModel(
                    await applications.GetLocalizedDisplayNameAsync(application) ?? request.ClientId!,
                    [.. request.GetScopes()],
                    Request.HasFormContentType ? [.. Request.Form] : [.. Request.Query])
                {
                    Developer = await DeveloperOfAsync(request.ClientId!),
                    PolicyUri = links.PolicyUri,
                    TosUri = links.TosUri,
                });
        }
    }

    [Authorize, FormValueRequired("submit.Accept")]
    [HttpPost("~" + Routes.Authorize), ValidateAntiForgeryToken]
    public async Task<IActionResult> Accept()
    {
        var request = HttpContext.GetOpenIddictServerRequest();
        if (request is null)
        {
            return ErrorPage(new OpenIddictResponse { Error = Errors.InvalidRequest, ErrorDescription = "Not an authorization request." });
        }

        var user = await users.GetUserAsync(User);
        var application = await applications.FindByClientIdAsync(request.ClientId!);
        if (user is null || application is null)
        {
            return ForbidWith(Errors.AccessDenied, "The user or the application no longer exists.");
        }

        if (accounts.Value.RequireConfirmedEmail && !await users.IsEmailConfirmedAsync(user))
        {
            return ForbidWith(Errors.AccessDenied, "The user must confirm their email address first.");
        }

        // Checked again here: this POST must not be a way around an externally managed consent.
        var existing = await FindPermanentAuthorizationsAsync(user, application, request.GetScopes());
        if (existing.Count == 0 && await applications.HasConsentTypeAsync(application, ConsentTypes.External))
        {
            return ForbidWith(Errors.ConsentRequired, "The user is not allowed to use this application.");
        }

        return await IssueAsync(user, application, request.GetScopes(), existing.LastOrDefault());
    }

    /// <summary>The user said no: OpenIddict redirects back with <c>access_denied</c>, <c>state</c> and <c>iss</c>.</summary>
    [Authorize, FormValueRequired("submit.Deny")]
    [HttpPost("~" + Routes.Authorize), ValidateAntiForgeryToken]
    public IActionResult Deny() => Forbid(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);

    [HttpGet("~" + Routes.Logout)]
    public IActionResult Logout() => View(new LogoutViewModel([.. Request.Query]));

    [ActionName(nameof(Logout)), HttpPost("~" + Routes.Logout), ValidateAntiForgeryToken]
    public async Task<IActionResult> LogoutPost()
    {
        await signIn.SignOutAsync();

        // OpenIddict redirects to the validated post_logout_redirect_uri, or to the home page when none was given.
        return SignOut(
            new AuthenticationProperties { RedirectUri = "/" },
            OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    [HttpPost("~" + Routes.Token), IgnoreAntiforgeryToken, Produces("application/json")]
    public async Task<IActionResult> Exchange()
    {
        var request = HttpContext.GetOpenIddictServerRequest();
        if (request is null)
        {
            return ForbidWith(Errors.InvalidRequest, "Not a token request.");
        }

        if (request.IsClientCredentialsGrantType())
        {
            return await IssueToServiceAsync(request);
        }

        if (!(request.IsAuthorizationCodeGrantType() || request.IsRefreshTokenGrantType()))
        {
            return ForbidWith(Errors.UnsupportedGrantType, "The grant type is not supported.");
        }

        // The principal stored in the code or refresh token; OpenIddict has checked the client, PKCE, the redirect
        // URI, expiry and single use.
        var principal = (await HttpContext.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme)).Principal;
        var user = principal?.GetClaim(Claims.Subject) is { } subject ? await users.FindByIdAsync(subject) : null;
        if (principal is null || user is null)
        {
            return ForbidWith(Errors.InvalidGrant, "The token is no longer valid.");
        }

        if (!await signIn.CanSignInAsync(user) || await users.IsLockedOutAsync(user))
        {
            return ForbidWith(Errors.InvalidGrant, "The user is no longer allowed to sign in.");
        }

        // A refresh token family lives at most OAuth:RefreshTokenAbsoluteLifetime from the sign-in that started it.
        var identity = (ClaimsIdentity)principal.Identity!;
        var left = RefreshFamily.TimeLeft(identity, oauth.Value.RefreshTokenAbsoluteLifetime, clock.GetUtcNow());
        if (left <= TimeSpan.Zero)
        {
            return ForbidWith(Errors.InvalidGrant, "The sign-in has expired: the person must sign in again.");
        }

        identity.SetRefreshTokenLifetime(left < oauth.Value.RefreshTokenLifetime ? left : oauth.Value.RefreshTokenLifetime);

        // Refresh the profile claims so a renamed account is seen on the next refresh.
        SetUserClaims(identity, user);
        identity.SetDestinations(GetDestinations);

        return SignIn(new ClaimsPrincipal(identity), OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    /// <summary>
    /// A service acting as itself (the Aridka sample's shape): OpenIddict has authenticated the client and checked the
    /// scopes against its permissions. The token's subject is the client, and it carries the scopes asked for, or every
    /// platform scope the client may have.
    /// </summary>
    private async Task<IActionResult> IssueToServiceAsync(OpenIddictRequest request)
    {
        var application = await applications.FindByClientIdAsync(request.ClientId!);
        if (application is null)
        {
            return ForbidWith(Errors.InvalidClient, "The client is unknown.");
        }

        var identity = new ClaimsIdentity(
            authenticationType: TokenValidationParameters.DefaultAuthenticationType,
            nameType: Claims.Name,
            roleType: Claims.Role);
        identity.SetClaim(Claims.Subject, await applications.GetClientIdAsync(application))
            .SetClaim(Claims.Name, await applications.GetDisplayNameAsync(application));

        var scopes = request.GetScopes();
        if (scopes.IsEmpty)
        {
            scopes = ServiceScopes.Default(await applications.GetPermissionsAsync(application));
        }

        identity.SetScopes(scopes);
        identity.SetResources(await scopeManager.AudiencesAsync(oauth.Value.Audience, scopes));
        identity.SetDestinations(static _ => [Destinations.AccessToken]);
        return SignIn(new ClaimsPrincipal(identity), OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    [Authorize(AuthenticationSchemes = OpenIddictServerAspNetCoreDefaults.AuthenticationScheme)]
    [HttpGet("~" + Routes.UserInfo), HttpPost("~" + Routes.UserInfo), IgnoreAntiforgeryToken, Produces("application/json")]
    public async Task<IActionResult> UserInfo()
    {
        var user = User.GetClaim(Claims.Subject) is { } subject ? await users.FindByIdAsync(subject) : null;
        if (user is null)
        {
            return Challenge(
                new AuthenticationProperties(new Dictionary<string, string?>
                {
                    [OpenIddictServerAspNetCoreConstants.Properties.Error] = Errors.InvalidToken,
                    [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = "The account no longer exists.",
                }),
                OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        }

        var claims = new Dictionary<string, object>(StringComparer.Ordinal) { [Claims.Subject] = user.Id };
        if (User.HasScope(Scopes.Email))
        {
            claims[Claims.Email] = user.Email ?? "";
            claims[Claims.EmailVerified] = user.EmailConfirmed;
        }

        if (User.HasScope(Scopes.Profile))
        {
            claims[Claims.Name] = DisplayName(user);
            claims[Claims.PreferredUsername] = user.UserName ?? "";
        }

        return Ok(claims);
    }

    private async Task<IActionResult> IssueAsync(
        ApplicationUser user, object application, ImmutableArray<string> scopes, object? authorization)
    {
        var identity = new ClaimsIdentity(
            authenticationType: TokenValidationParameters.DefaultAuthenticationType,
            nameType: Claims.Name,
            roleType: Claims.Role);

        identity.SetScopes(scopes);
        SetUserClaims(identity, user);
        RefreshFamily.Start(identity, clock.GetUtcNow());
        identity.SetResources(await scopeManager.AudiencesAsync(oauth.Value.Audience, scopes));

        // A permanent authorization remembers the consent for this client and these scopes, and ties every token
        // issued from it together, so revoking it (or replaying a code) ends them all.
        authorization ??= await authorizations.CreateAsync(
            principal: new ClaimsPrincipal(identity),
            subject: user.Id,
            client: (await applications.GetIdAsync(application))!,
            type: AuthorizationTypes.Permanent,
            scopes: identity.GetScopes());

        identity.SetAuthorizationId(await authorizations.GetIdAsync(authorization));
        identity.SetDestinations(GetDestinations);
        return SignIn(new ClaimsPrincipal(identity), OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    /// <summary>
    /// The claims the granted scopes call for (OpenID Connect Core §5.4): the subject always, the email only with
    /// <c>email</c>, the name only with <c>profile</c>. Roles never leave the server: they authorize a person on the
    /// server's own pages, never an app acting for that person.
    /// </summary>
    private static void SetUserClaims(ClaimsIdentity identity, ApplicationUser user)
    {
        identity.SetClaim(Claims.Subject, user.Id)
            .SetClaim(Claims.Email, identity.HasScope(Scopes.Email) ? user.Email : null)
            .SetClaim(Claims.Name, identity.HasScope(Scopes.Profile) ? DisplayName(user) : null)
            .SetClaims(Claims.Role, []);
    }

    private async Task<List<object>> FindPermanentAuthorizationsAsync(
        ApplicationUser user, object application, ImmutableArray<string> scopes)
    {
        var found = new List<object>();
        await foreach (var authorization in authorizations.FindAsync(
            subject: user.Id,
            client: await applications.GetIdAsync(application),
            status: Statuses.Valid,
            type: AuthorizationTypes.Permanent,
            scopes: scopes))
        {
            found.Add(authorization);
        }

        return found;
    }

    private ForbidResult ForbidWith(string error, string description) => Forbid(
        new AuthenticationProperties(new Dictionary<string, string?>
        {
            [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
            [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
        }),
        OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);

    private ViewResult ErrorPage(OpenIddictResponse response)
    {
        Response.StatusCode = StatusCodes.Status400BadRequest;
        return View("OAuthError", new OAuthErrorViewModel(response.Error ?? Errors.InvalidRequest, response.ErrorDescription));
    }

    /// <summary>Renders errors on the server: OpenIddict's non-redirectable errors, and any other bare status.</summary>
    [Route("~/error/{status:int}"), IgnoreAntiforgeryToken]
    public IActionResult Error(int status)
    {
        if (HttpContext.GetOpenIddictServerResponse() is { } failure)
        {
            return ErrorPage(failure);
        }

        Response.StatusCode = status is >= 400 and < 600 ? status : StatusCodes.Status400BadRequest;
        return View("OAuthError", new OAuthErrorViewModel(
            status == StatusCodes.Status404NotFound ? "not_found" : "bad_request",
            status == StatusCodes.Status404NotFound ? "There is nothing at this address." : "The request could not be processed."));
    }

    private static string DisplayName(ApplicationUser user) => user.DisplayName ?? user.UserName ?? user.Id;

    /// <summary>
    /// Claims go into a token only with a destination. The name and email reach the tokens only when their scope was
    /// granted (they are not even set otherwise); roles and Identity's security stamp never do, even if an older token
    /// being refreshed still carries them.
    /// </summary>
    private static IEnumerable<string> GetDestinations(Claim claim)
    {
        switch (claim.Type)
        {
            case Claims.Name or Claims.PreferredUsername when claim.Subject?.HasScope(Scopes.Profile) == true:
            case Claims.Email when claim.Subject?.HasScope(Scopes.Email) == true:
                yield return Destinations.AccessToken;
                yield return Destinations.IdentityToken;
                yield break;

            case Claims.Name or Claims.PreferredUsername or Claims.Email or Claims.Role or "AspNet.Identity.SecurityStamp" or RefreshFamily.StartedClaim:
                yield break;

            default:
                yield return Destinations.AccessToken;
                yield break;
        }
    }
}

/// <summary>The page that stops an account with an unconfirmed address on its way to an app.</summary>
public sealed record ConfirmEmailFirstViewModel(string ApplicationName, string? Email, string RetryUrl);

public sealed record ConsentViewModel(
    string ApplicationName, IReadOnlyList<string> Scopes, IReadOnlyList<KeyValuePair<string, StringValues>> Parameters)
{
    /// <summary>Who registered the app on the dashboard; <see langword="null"/> for an app the platform registered.</summary>
    public string? Developer { get; init; }

    public Uri? PolicyUri { get; init; }

    public Uri? TosUri { get; init; }
}

public sealed record LogoutViewModel(IReadOnlyList<KeyValuePair<string, StringValues>> Parameters);

public sealed record OAuthErrorViewModel(string Error, string? Description);
