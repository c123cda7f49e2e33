using System.Security.Claims;
using AuthServer.Accounts;
using AuthServer.Clients;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace AuthServer.Pages.Dashboard;

/// <summary>A developer's own OAuth apps: register (the secret shown once), rotate the secret, delete.</summary>
[Authorize]
internal sealed class AppsModel(DeveloperApps apps, EmailConfirmation confirmation) : PageModel
{
    public IReadOnlyList<DeveloperApp> Apps { get; private set; } = [];

    /// <summary>Credentials of an app just registered or rotated: rendered in this response only.</summary>
    public RegisteredClient? Credentials { get; private set; }

    public string? Message { get; private set; }

    public string? Error { get; private set; }

    /// <summary>Set when the account must confirm its address before it registers apps.</summary>
    public bool MustConfirmEmail { get; private set; }

    [BindProperty]
    public AppForm Form { get; set; } = AppForm.New();

    public async Task OnGetAsync(string? message)
    {
        Message = message;
        await LoadAsync();
    }

    public async Task<IActionResult> OnPostCreateAsync()
    {
        if (await confirmation.IsMissingAsync(User))
        {
            Response.StatusCode = StatusCodes.Status403Forbidden;
            return await ShowErrorAsync(EmailConfirmation.Required);
        }

        var (input, problem) = Form.Read();
        if (input is null)
        {
            return await ShowErrorAsync(problem!);
        }

        try
        {
            Credentials = await apps.CreateAsync(UserId, input, HttpContext.RequestAborted);
        }
        catch (ClientRegistrationException exception)
        {
            return await ShowErrorAsync(exception.Message);
        }

        return await ShowSecretAsync();
    }

    public async Task<IActionResult> OnPostRotateAsync(string id, int graceHours)
    {
        // Checked before any arithmetic; a value that is not a number must not bind as 0 ("the old secret stops now").
        if (ModelState.GetFieldValidationState(nameof(graceHours)) == ModelValidationState.Invalid || graceHours is < 0 or > 168)
        {
            return await ShowErrorAsync("The old secret may keep working for at most 7 days.");
        }

        var secret = await apps.RotateSecretAsync(UserId, id, TimeSpan.FromHours(graceHours), HttpContext.RequestAborted);
        if (secret is null)
        {
            return NotFound();
        }

        Credentials = new RegisteredClient(id, secret);
        return await ShowSecretAsync();
    }

    public async Task<IActionResult> OnPostDeleteAsync(string id) =>
        await apps.DeleteAsync(UserId, id, HttpContext.RequestAborted)
            ? RedirectToPage(new { message = "The app was deleted; its tokens no longer work." })
            : NotFound();

    private string UserId => User.FindFirst(ClaimTypes.NameIdentifier)!.Value;

    private async Task<IActionResult> ShowSecretAsync()
    {
        // The page carries a secret: no cache.
        Response.Headers.CacheControl = "no-store";
        await LoadAsync();
        return Page();
    }

    private async Task<IActionResult> ShowErrorAsync(string error)
    {
        Error = error;
        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync()
    {
        MustConfirmEmail = await confirmation.IsMissingAsync(User);
        Apps = await apps.ListAsync(UserId, HttpContext.RequestAborted);
    }
}
