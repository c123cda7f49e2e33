using AuthServer.Accounts;
using AuthServer.ApiKeys;
using AuthServer.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;

namespace AuthServer.Pages.Dashboard;

/// <summary>The developer's API keys: create (shown once), list, roll, revoke.</summary>
[Authorize]
internal sealed class KeysModel(ApiKeyService keys, EmailConfirmation confirmation, IOptions<ApiKeyOptions> options) : PageModel
{
    public IReadOnlyList<ApiKeyView> Keys { get; private set; } = [];

    /// <summary>The secret of a key just created or rolled: rendered in this one response and never again.</summary>
    public CreatedApiKey? NewKey { get; private set; }

    public string? Message { get; private set; }

    public string? Error { get; private set; }

    /// <summary>Set when the account must confirm its address before it creates keys.</summary>
    public bool MustConfirmEmail { get; private set; }

    public ApiKeyOptions Rules => options.Value;

    [BindProperty]
    public string Name { get; set; } = "";

    [BindProperty]
    public List<string> Scopes { get; set; } = [];

    [BindProperty]
    public int? LifetimeDays { get; set; }

    public async Task OnGetAsync(string? message) => await LoadAsync(message);

    public async Task<IActionResult> OnPostCreateAsync() =>
        await confirmation.IsMissingAsync(User) ? await RefuseAsync(StatusCodes.Status403Forbidden, EmailConfirmation.Required)
        : ModelState.GetFieldValidationState(nameof(LifetimeDays)) == ModelValidationState.Invalid
            ? await ShowErrorAsync("Choose how many days the key lives.")
            : await RunAsync(async () => NewKey = await keys.CreateAsync(
                OwnerId, Name, Scopes, LifetimeDays, OwnerId, HttpContext.RequestAborted));

    public async Task<IActionResult> OnPostRollAsync(string id, int graceHours)
    {
        if (await confirmation.IsMissingAsync(User))
        {
            return await RefuseAsync(StatusCodes.Status403Forbidden, EmailConfirmation.Required);
        }

        // Checked before any arithmetic: a number that does not fit is a form error, never an overflow.
        var maxHours = (int)Rules.MaxRollGracePeriod.TotalHours;
        if (ModelState.GetFieldValidationState(nameof(graceHours)) == ModelValidationState.Invalid || graceHours < 0 || graceHours > maxHours)
        {
            return await ShowErrorAsync($"The grace period of the old key is 0 to {maxHours} hours.");
        }

        return await RunAsync(async () => NewKey = await keys.RollAsync(
            OwnerId, id, TimeSpan.FromHours(graceHours), OwnerId, HttpContext.RequestAborted));
    }

    public async Task<IActionResult> OnPostRevokeAsync(string id)
    {
        try
        {
            await keys.RevokeAsync(OwnerId, id, OwnerId, HttpContext.RequestAborted);
            return RedirectToPage(new { message = "The key was revoked. Calls with it now fail." });
        }
        catch (ApiKeyException exception)
        {
            return await ShowErrorAsync(exception.Message);
        }
    }

    private async Task<IActionResult> RefuseAsync(int status, string error)
    {
        Response.StatusCode = status;
        return await ShowErrorAsync(error);
    }

    private async Task<IActionResult> ShowErrorAsync(string error)
    {
        Error = error;
        await LoadAsync(null);
        return Page();
    }

    private string OwnerId => User.FindFirst(System.Security.Claims.ClaimTypes.NameIdentifier)!.Value;

    private async Task<IActionResult> RunAsync(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (ApiKeyException exception)
        {
            Error = exception.Message;
        }

        // The page may carry a secret: no cache, no referrer.
        Response.Headers.CacheControl = "no-store";
        await LoadAsync(null);
        return Page();
    }

    private async Task LoadAsync(string? message)
    {
        Message = message;
        MustConfirmEmail = await confirmation.IsMissingAsync(User);
        Keys = await keys.ListAsync(OwnerId, HttpContext.RequestAborted);
    }

    public static IReadOnlyList<string> AvailableScopes => [PlatformScopes.Read, PlatformScopes.Write];
}
