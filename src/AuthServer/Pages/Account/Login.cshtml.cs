using System.ComponentModel.DataAnnotations;
using System.Globalization;
using AuthServer.Accounts;
using AuthServer.Data;
using AuthServer.RateLimiting;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace AuthServer.Pages.Account;

internal sealed class LoginModel(SignInManager<ApplicationUser> signIn, FailureLimits failures) : PageModel
{
    [BindProperty]
    public LoginInput Input { get; set; } = new();

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public async Task<IActionResult> OnPostAsync()
    {
        if (!ModelState.IsValid)
        {
            return Page();
        }

        // Guessing across many accounts from one address is bounded per IP; within one account, by the lockout.
        var gate = await failures.CheckAsync(FailureLimits.SignIn, HttpContext, HttpContext.RequestAborted);
        if (!gate.Admitted)
        {
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = gate.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            ModelState.AddModelError(string.Empty, $"Too many failed sign-ins from your network. Try again in {gate.RetryAfterSeconds} seconds.");
            return Page();
        }

        // Every failure counts towards the lockout, so guessing a password is bounded per account.
        var result = await signIn.PasswordSignInAsync(Input.Email, Input.Password, Input.RememberMe, lockoutOnFailure: true);
        if (result.Succeeded)
        {
            return LocalRedirect(AccountsExtensions.LocalOrHome(Url, ReturnUrl));
        }

        await failures.RecordAsync(FailureLimits.SignIn, HttpContext, HttpContext.RequestAborted);
        ModelState.AddModelError(string.Empty, result.IsLockedOut
            ? "This account is locked after too many failed attempts. Try again later."
            : "Invalid email or password.");
        return Page();
    }

    internal sealed class LoginInput
    {
        [Required, EmailAddress, StringLength(256)]
        public string Email { get; set; } = "";

        [Required, StringLength(128)]
        [DataType(DataType.Password)]
        public string Password { get; set; } = "";

        public bool RememberMe { get; set; }
    }
}
