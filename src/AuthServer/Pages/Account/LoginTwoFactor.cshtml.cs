using System.ComponentModel.DataAnnotations;
using System.Globalization;
using AuthServer.Accounts;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace AuthServer.Pages.Account;

/// <summary>
/// The second step of a sign-in: a code from the authenticator app (this browser can be remembered), or a recovery
/// code. It then goes where the sign-in was going (the consent page of an authorization request, say).
/// </summary>
internal sealed class LoginTwoFactorModel(TwoFactorSignIn twoFactor) : PageModel
{
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    [BindProperty(SupportsGet = true)]
    public bool RememberMe { get; set; }

    [BindProperty]
    [StringLength(20)]
    public string? Code { get; set; }

    [BindProperty]
    public bool RememberDevice { get; set; }

    [BindProperty]
    [StringLength(20)]
    public string? RecoveryCode { get; set; }

    public async Task<IActionResult> OnGetAsync() => await twoFactor.PendingAsync() is null ? BackToSignIn() : Page();

    public async Task<IActionResult> OnPostAsync()
    {
        if (!ModelState.IsValid || string.IsNullOrWhiteSpace(Code))
        {
            return Fail("Type the six-digit code your authenticator app shows.");
        }

        return Answer(await twoFactor.AuthenticatorCodeAsync(HttpContext, Code, RememberMe, RememberDevice));
    }

    public async Task<IActionResult> OnPostRecoveryAsync()
    {
        if (!ModelState.IsValid || string.IsNullOrWhiteSpace(RecoveryCode))
        {
            return Fail("Type one of your recovery codes.");
        }

        return Answer(await twoFactor.RecoveryCodeAsync(HttpContext, RecoveryCode));
    }

    private IActionResult Answer((SecondFactorResult Result, int RetryAfterSeconds) outcome)
    {
        switch (outcome.Result)
        {
            case SecondFactorResult.SignedIn:
                return LocalRedirect(AccountsExtensions.LocalOrHome(Url, ReturnUrl));
            case SecondFactorResult.NoPendingSignIn:
                return BackToSignIn();
            case SecondFactorResult.Limited:
                Response.Headers.RetryAfter = outcome.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                return Fail($"Too many failed sign-ins to this account from your network. Try again in {outcome.RetryAfterSeconds} seconds.", StatusCodes.Status429TooManyRequests);
            case SecondFactorResult.LockedOut:
                return Fail("Too many wrong codes: signing in to this account is paused for a while.");
            default:
                return Fail("That code is not right (or was used already).");
        }
    }

    private PageResult Fail(string error, int status = StatusCodes.Status400BadRequest)
    {
        ModelState.AddModelError(string.Empty, error);
        Response.StatusCode = status;
        return Page();
    }

    private RedirectToPageResult BackToSignIn() => RedirectToPage("Login", new { ReturnUrl });
}
