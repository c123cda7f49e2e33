using System.Security.Claims;
using AuthServer.Clients;
using AuthServer.OAuth;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;

namespace AuthServer.Pages.Dashboard;

/// <summary>One of the developer's apps: edit what it is and may ask for, and a sample of its flow filled in.</summary>
[Authorize]
internal sealed class AppModel(DeveloperApps apps, IOptions<OAuthOptions> oauth) : PageModel
{
    public DeveloperApp App { get; private set; } = null!;

    [BindProperty]
    public AppForm Form { get; set; } = new();

    public string? Message { get; private set; }

    public string? Error { get; private set; }

    /// <summary>The server's public URL, as the sample calls it.</summary>
    public string Issuer => (oauth.Value.Issuer?.AbsoluteUri ?? $"{Request.Scheme}://{Request.Host}{Request.PathBase}/").TrimEnd('/');

    public async Task<IActionResult> OnGetAsync(string clientId, string? message)
    {
        if (await apps.FindAsync(UserId, clientId, HttpContext.RequestAborted) is not { } app)
        {
            return NotFound();
        }

        (App, Form, Message) = (app, AppForm.From(app), message);
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(string clientId)
    {
        if (await apps.FindAsync(UserId, clientId, HttpContext.RequestAborted) is not { } app)
        {
            return NotFound();
        }

        App = app;
        var (input, problem) = Form.Read();
        if (input is null)
        {
            Error = problem;
            return Page();
        }

        try
        {
            await apps.UpdateAsync(UserId, clientId, input with { IsPublic = app.IsPublic }, HttpContext.RequestAborted);
        }
        catch (ClientRegistrationException exception)
        {
            Error = exception.Message;
            return Page();
        }

        return RedirectToPage(new { clientId, message = "Saved." });
    }

    private string UserId => User.FindFirst(ClaimTypes.NameIdentifier)!.Value;
}
