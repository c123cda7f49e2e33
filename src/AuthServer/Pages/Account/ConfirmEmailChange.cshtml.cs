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
/// Moves an account to the address its link was sent to. The link is Identity's change-email token, bound to the
/// account and to that address; opening it shows a button (a mail scanner that fetches links changes nothing), and
/// the change tells the old address and ends every session (the security stamp changes).
/// </summary>
internal sealed class ConfirmEmailChangeModel(UserManager<ApplicationUser> users, AccountEmails emails, AuditLog audit, IOptions<OAuthOptions> oauth) : PageModel
{
    [BindProperty(SupportsGet = true, Name = "user")]
    public new string? User { get; set; }

    [BindProperty(SupportsGet = true, Name = "email")]
    public string? Email { get; set; }

    [BindProperty(SupportsGet = true, Name = "code")]
    public string? Code { get; set; }

    public bool LinkInvalid { get; private set; }

    public bool Done { get; private set; }

    public async Task<IActionResult> OnGetAsync()
    {
        LinkInvalid = await AccountAsync() is not { } user || Token() is not { } token || string.IsNullOrEmpty(Email)
            || !await users.VerifyUserTokenAsync(user, users.Options.Tokens.ChangeEmailTokenProvider, UserManager<ApplicationUser>.GetChangeEmailTokenPurpose(Email), token);
        return LinkInvalid ? Invalid() : Page();
    }

    public async Task<IActionResult> OnPostAsync()
    {
        if (await AccountAsync() is not { } user || Token() is not { } token || string.IsNullOrEmpty(Email))
        {
            LinkInvalid = true;
            return Invalid();
        }

        var old = user.Email;
        var changed = await users.ChangeEmailAsync(user, Email, token);
        if (!changed.Succeeded || !(await users.SetUserNameAsync(user, Email)).Succeeded)
        {
            LinkInvalid = true;
            return Invalid();
        }

        await audit.WriteAsync(user.Id, "account.email_changed", user.Id, user.Id, new { from = old, to = Email }, HttpContext.RequestAborted);
        if (old is not null)
        {
            await emails.NoticeAsync(old, "Your email address was changed", $"Your account's address was changed to {Email}, and every session signed out.",
                PublicUrl.Of(Request, oauth.Value.Issuer, Routes.ForgotPassword), HttpContext.RequestAborted);
        }

        Done = true;
        return Page();
    }

    private async Task<ApplicationUser?> AccountAsync() =>
        string.IsNullOrEmpty(User) || User.Length > 450 ? null : await users.FindByIdAsync(User);

    private string? Token() => EmailTokens.Decode(Code);

    private PageResult Invalid()
    {
        Response.StatusCode = StatusCodes.Status400BadRequest;
        return Page();
    }
}
