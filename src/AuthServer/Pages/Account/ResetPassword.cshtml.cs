using System.ComponentModel.DataAnnotations;
using AuthServer.Accounts;
using AuthServer.Audit;
using AuthServer.Core;
using AuthServer.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace AuthServer.Pages.Account;

/// <summary>
/// Sets a new password from a reset link. The link is Identity's reset token: it expires
/// (<c>Accounts:ResetLinkLifetime</c>) and carries the account's security stamp, which the reset changes, so the link
/// works once and every session from before the reset is signed out (within <c>Accounts:SessionCheckInterval</c>).
/// </summary>
internal sealed class ResetPasswordModel(UserManager<ApplicationUser> users, AuditLog audit) : PageModel
{
    [BindProperty(SupportsGet = true, Name = "user")]
    public new string? User { get; set; }

    [BindProperty(SupportsGet = true, Name = "code")]
    public string? Code { get; set; }

    [BindProperty]
    public ResetPasswordInput Input { get; set; } = new();

    public bool LinkInvalid { get; private set; }

    public async Task<IActionResult> OnGetAsync()
    {
        LinkInvalid = await AccountAsync() is not { } user || Token() is not { } token
            || !await users.VerifyUserTokenAsync(user, users.Options.Tokens.PasswordResetTokenProvider, UserManager<ApplicationUser>.ResetPasswordTokenPurpose, token);
        return LinkInvalid ? Invalid() : Page();
    }

    public async Task<IActionResult> OnPostAsync()
    {
        if (await AccountAsync() is not { } user || Token() is not { } token)
        {
            LinkInvalid = true;
            return Invalid();
        }

        if (!ModelState.IsValid)
        {
            return Page();
        }

        var result = await users.ResetPasswordAsync(user, token, Input.Password);
        if (!result.Succeeded)
        {
            if (result.Errors.Any(error => error.Code == new IdentityErrorDescriber().InvalidToken().Code))
            {
                LinkInvalid = true;
                return Invalid();
            }

            foreach (var error in result.Errors)
            {
                ModelState.AddModelError(string.Empty, error.Description);
            }

            return Page();
        }

        await audit.WriteAsync(user.Id, "account.password_reset", user.Id, user.Id, null, HttpContext.RequestAborted);
        return Redirect($"{Routes.SignIn}?Reset=true");
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

public sealed class ResetPasswordInput
{
    [Required]
    [DataType(DataType.Password)]
    public string Password { get; set; } = "";

    [Required]
    [Compare(nameof(Password), ErrorMessage = "The two passwords differ.")]
    public string ConfirmPassword { get; set; } = "";
}
