using System.Globalization;
using AuthServer.Accounts;
using AuthServer.Audit;
using AuthServer.Core;
using AuthServer.Data;
using AuthServer.OAuth;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;

namespace AuthServer.Pages.Account;

/// <summary>
/// Confirms an account's address from the link sent at sign-up: opening the link shows a button (a mail scanner that
/// fetches links confirms nothing). Without a link, a signed-in person sees whether their address is confirmed and
/// can have the link sent again.
/// </summary>
internal sealed class ConfirmEmailModel(
    UserManager<ApplicationUser> users,
    SignInManager<ApplicationUser> signIn,
    EmailConfirmation confirmation,
    AuditLog audit,
    IOptions<OAuthOptions> oauth) : PageModel
{
    [BindProperty(SupportsGet = true, Name = "user")]
    public new string? User { get; set; }

    [BindProperty(SupportsGet = true, Name = "code")]
    public string? Code { get; set; }

    /// <summary>The signed-in account, when the page is opened without a link.</summary>
    public ApplicationUser? Account { get; private set; }

    public bool LinkInvalid { get; private set; }

    public bool Done { get; private set; }

    public string? Message { get; private set; }

    public async Task<IActionResult> OnGetAsync(string? message)
    {
        Message = message;
        if (User is null && Code is null)
        {
            Account = await users.GetUserAsync(base.User);
            return Account is null ? Challenge() : Page();
        }

        LinkInvalid = await AccountAsync() is not { } user || EmailTokens.Decode(Code) is not { } token
            || !await users.VerifyUserTokenAsync(user, users.Options.Tokens.EmailConfirmationTokenProvider, UserManager<ApplicationUser>.ConfirmEmailTokenPurpose, token);
        return LinkInvalid ? Invalid() : Page();
    }

    public async Task<IActionResult> OnPostAsync()
    {
        if (await AccountAsync() is not { } user || EmailTokens.Decode(Code) is not { } token
            || !(await users.ConfirmEmailAsync(user, token)).Succeeded)
        {
            LinkInvalid = true;
            return Invalid();
        }

        await audit.WriteAsync(user.Id, "account.email_confirmed", user.Id, user.Id, new { email = user.Email }, HttpContext.RequestAborted);

        // The session of the same account, if this browser has one, learns of it at once.
        if (users.GetUserId(base.User) == user.Id)
        {
            await signIn.RefreshSignInAsync(user);
        }

        Done = true;
        return Page();
    }

    public async Task<IActionResult> OnPostResendAsync()
    {
        if (await users.GetUserAsync(base.User) is not { } user)
        {
            return Challenge();
        }

        if (await users.IsEmailConfirmedAsync(user))
        {
            return RedirectToPage(new { message = "Your address is already confirmed." });
        }

        var gate = await confirmation.ResendAsync(user, path => PublicUrl.Of(Request, oauth.Value.Issuer, path), HttpContext.RequestAborted);
        if (!gate.Admitted)
        {
            Account = user;
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = gate.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            Message = $"The link was sent a moment ago. Try again in {gate.RetryAfterSeconds} seconds.";
            return Page();
        }

        return RedirectToPage(new { message = $"We sent the link again to {user.Email}." });
    }

    private async Task<ApplicationUser?> AccountAsync() =>
        string.IsNullOrEmpty(User) || User.Length > 450 ? null : await users.FindByIdAsync(User);

    private PageResult Invalid()
    {
        Response.StatusCode = StatusCodes.Status400BadRequest;
        return Page();
    }
}
