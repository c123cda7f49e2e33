using System.ComponentModel.DataAnnotations;
using AuthServer.Accounts;
using AuthServer.Audit;
using AuthServer.Core;
using AuthServer.Data;
using AuthServer.OAuth;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;

namespace AuthServer.Pages.Account;

/// <summary>
/// The account's security: change the password (the current one is asked; every other session ends, this one goes on,
/// and the account's address is told), change the address, second factors and passkeys (add, rename, remove), and
/// sign out everywhere (the security stamp changes, so every session cookie, on every node, stops working at its next
/// check).
/// </summary>
[Authorize]
internal sealed class SecurityModel(
    UserManager<ApplicationUser> users,
    SignInManager<ApplicationUser> signIn,
    AccountEmails emails,
    Passkeys passkeys,
    AuditLog audit,
    IOptions<OAuthOptions> oauth) : PageModel
{
    [BindProperty]
    public ChangePasswordInput Input { get; set; } = new();

    [BindProperty]
    [EmailAddress]
    [StringLength(256)]
    public string? NewEmail { get; set; }

    public string? Message { get; private set; }

    public bool TwoFactorEnabled { get; private set; }

    public IReadOnlyList<PasskeySummary> Passkeys { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(string? message)
    {
        Message = message;
        return await users.GetUserAsync(User) is { } user ? await ShowAsync(user) : Challenge();
    }

    public async Task<IActionResult> OnPostChangePasswordAsync()
    {
        if (await users.GetUserAsync(User) is not { } user)
        {
            return Challenge();
        }

        if (!ModelState.IsValid)
        {
            return await ShowAsync(user);
        }

        var result = await users.ChangePasswordAsync(user, Input.CurrentPassword, Input.NewPassword);
        if (!result.Succeeded)
        {
            foreach (var error in result.Errors)
            {
                ModelState.AddModelError(string.Empty, error.Code == nameof(IdentityErrorDescriber.PasswordMismatch) ? "The current password is not right." : error.Description);
            }

            Response.StatusCode = StatusCodes.Status400BadRequest;
            return await ShowAsync(user);
        }

        // The stamp changed: this session gets a new cookie, the others are refused at their next check.
        await signIn.RefreshSignInAsync(user);
        await audit.WriteAsync(user.Id, "account.password_changed", user.Id, user.Id, null, HttpContext.RequestAborted);
        if (user.Email is { } email)
        {
            await emails.NoticeAsync(email, "Your password was changed", "The password of your account was just changed, and every other session signed out.",
                SecurityPage, HttpContext.RequestAborted);
        }

        return RedirectToPage(new { message = "Your password is changed; your other sessions are signed out." });
    }

    /// <summary>
    /// Sends the confirmation link to the new address; the answer is the same whether or not the address already has an
    /// account (that address is told instead), so the page tells no one who has an account.
    /// </summary>
    public async Task<IActionResult> OnPostChangeEmailAsync()
    {
        // Only the address is posted here: the password form's fields are not.
        foreach (var other in ModelState.Keys.Where(key => key != nameof(NewEmail)).ToList())
        {
            ModelState.Remove(other);
        }

        if (await users.GetUserAsync(User) is not { } user)
        {
            return Challenge();
        }

        if (!ModelState.IsValid || string.IsNullOrWhiteSpace(NewEmail))
        {
            ModelState.AddModelError(string.Empty, "Give a valid email address.");
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return await ShowAsync(user);
        }

        var address = NewEmail.Trim();
        if (await users.FindByEmailAsync(address) is not null)
        {
            await emails.AddressTakenAsync(address, PublicUrl.Of(Request, oauth.Value.Issuer, Routes.SignIn), HttpContext.RequestAborted);
        }
        else
        {
            var token = await users.GenerateChangeEmailTokenAsync(user, address);
            var link = Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(Routes.ConfirmEmailChange, new Dictionary<string, string?>
            {
                ["user"] = user.Id,
                ["email"] = address,
                ["code"] = EmailTokens.Encode(token),
            });
            await emails.ConfirmNewAddressAsync(address, PublicUrl.Of(Request, oauth.Value.Issuer, link), HttpContext.RequestAborted);
        }

        return RedirectToPage(new { message = $"We sent a confirmation link to {address}; your address changes once you follow it." });
    }

    /// <summary>The options for the browser's <c>navigator.credentials.create()</c>, asked for by the page's script.</summary>
    public async Task<IActionResult> OnPostPasskeyOptionsAsync() =>
        await users.GetUserAsync(User) is { } user
            ? Content(await passkeys.CreationOptionsAsync(user), "application/json")
            : Unauthorized();

    public async Task<IActionResult> OnPostAddPasskeyAsync(string? credentialJson, string? passkeyName)
    {
        if (await users.GetUserAsync(User) is not { } user)
        {
            return Challenge();
        }

        var error = await passkeys.AddAsync(user, credentialJson, passkeyName, SecurityPage, HttpContext.RequestAborted);
        return error is null
            ? RedirectToPage(new { message = "Your passkey is added: use it to sign in." })
            : await RefusedAsync(user, error);
    }

    public async Task<IActionResult> OnPostRenamePasskeyAsync(string? id, string? passkeyName)
    {
        if (await users.GetUserAsync(User) is not { } user)
        {
            return Challenge();
        }

        return await passkeys.RenameAsync(user, id, passkeyName)
            ? RedirectToPage(new { message = "The passkey is renamed." })
            : await RefusedAsync(user, "This account has no such passkey.", StatusCodes.Status404NotFound);
    }

    public async Task<IActionResult> OnPostRemovePasskeyAsync(string? id)
    {
        if (await users.GetUserAsync(User) is not { } user)
        {
            return Challenge();
        }

        return await passkeys.RemoveAsync(user, id, SecurityPage, HttpContext.RequestAborted)
            ? RedirectToPage(new { message = "The passkey is removed: it no longer signs in." })
            : await RefusedAsync(user, "This account has no such passkey.", StatusCodes.Status404NotFound);
    }

    public async Task<IActionResult> OnPostSignOutEverywhereAsync()
    {
        if (await users.GetUserAsync(User) is { } user)
        {
            await users.UpdateSecurityStampAsync(user);
            await audit.WriteAsync(user.Id, "account.signed_out_everywhere", user.Id, user.Id, null, HttpContext.RequestAborted);
        }

        await signIn.SignOutAsync();
        return Redirect(Routes.SignIn);
    }

    private Uri SecurityPage => PublicUrl.Of(Request, oauth.Value.Issuer, Routes.Security);

    private async Task<IActionResult> ShowAsync(ApplicationUser user)
    {
        TwoFactorEnabled = await users.GetTwoFactorEnabledAsync(user);
        Passkeys = await passkeys.ListAsync(user);
        return Page();
    }

    /// <summary>The page again with the reason, and a status that says the change was not made.</summary>
    private async Task<IActionResult> RefusedAsync(ApplicationUser user, string error, int status = StatusCodes.Status400BadRequest)
    {
        // Only the reason is shown: the password form's fields were not posted.
        ModelState.Clear();
        ModelState.AddModelError(string.Empty, error);
        Response.StatusCode = status;
        return await ShowAsync(user);
    }
}

public sealed class ChangePasswordInput
{
    [Required]
    public string CurrentPassword { get; set; } = "";

    [Required]
    public string NewPassword { get; set; } = "";

    [Required]
    [Compare(nameof(NewPassword), ErrorMessage = "The two new passwords differ.")]
    public string ConfirmPassword { get; set; } = "";
}
