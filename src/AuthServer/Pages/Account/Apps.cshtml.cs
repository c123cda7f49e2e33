using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.Pages.Account;

/// <summary>The apps a person has authorized, with their scopes and date, and a way to take the access back.</summary>
[Authorize]
internal sealed class AppsModel(
    IOpenIddictAuthorizationManager authorizations,
    IOpenIddictApplicationManager applications,
    IOpenIddictTokenManager tokens) : PageModel
{
    public IReadOnlyList<AuthorizedApp> Apps { get; private set; } = [];

    public string? Message { get; private set; }

    public async Task OnGetAsync(string? message)
    {
        Message = message;
        var found = new List<AuthorizedApp>();
        await foreach (var authorization in authorizations.FindBySubjectAsync(UserId, HttpContext.RequestAborted))
        {
            if (!await authorizations.HasStatusAsync(authorization, Statuses.Valid, HttpContext.RequestAborted)
                || !await authorizations.HasTypeAsync(authorization, AuthorizationTypes.Permanent, HttpContext.RequestAborted))
            {
                continue;
            }

            var applicationId = await authorizations.GetApplicationIdAsync(authorization, HttpContext.RequestAborted);
            var application = applicationId is null ? null : await applications.FindByIdAsync(applicationId, HttpContext.RequestAborted);
            found.Add(new AuthorizedApp(
                (await authorizations.GetIdAsync(authorization, HttpContext.RequestAborted))!,
                application is null ? "(deleted app)" : await applications.GetDisplayNameAsync(application, HttpContext.RequestAborted) ?? "(unnamed app)",
                [.. await authorizations.GetScopesAsync(authorization, HttpContext.RequestAborted)],
                await authorizations.GetCreationDateAsync(authorization, HttpContext.RequestAborted)));
        }

        Apps = [.. found.OrderByDescending(app => app.AuthorizedAt)];
    }

    /// <summary>Ends the authorization and every token issued under it (access and refresh tokens alike).</summary>
    public async Task<IActionResult> OnPostRevokeAsync(string id)
    {
        var authorization = await authorizations.FindByIdAsync(id, HttpContext.RequestAborted);
        if (authorization is null
            || await authorizations.GetSubjectAsync(authorization, HttpContext.RequestAborted) != UserId)
        {
            return NotFound();
        }

        await tokens.RevokeByAuthorizationIdAsync(id, HttpContext.RequestAborted);
        await authorizations.TryRevokeAsync(authorization, HttpContext.RequestAborted);
        return RedirectToPage(new { message = "Access revoked. The app must ask you again." });
    }

    private string UserId => User.FindFirst(ClaimTypes.NameIdentifier)!.Value;
}

internal sealed record AuthorizedApp(string Id, string Name, IReadOnlyList<string> Scopes, DateTimeOffset? AuthorizedAt);
