using System.ComponentModel.DataAnnotations;
using AuthServer.Accounts;
using AuthServer.Core;
using AuthServer.Data;
using AuthServer.OAuth;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;

namespace AuthServer.Pages.Account;

/// <summary>
/// Sign-up. The answer is the same whether or not the address already has an account (a redirect to the sign-in page
/// saying so), and so is the work (a password hash either way): the page cannot be used to learn who has an account.
/// A new account is therefore not signed in at once; its owner signs in with the password just chosen. An email goes
/// to the address either way: the confirmation link for a new account, a note that it has one already otherwise.
/// </summary>
internal sealed class RegisterModel(
    UserManager<ApplicationUser> users,
    IPasswordHasher<ApplicationUser> hasher,
    DummyPasswordHash dummy,
    EmailConfirmation confirmation,
    AccountEmails emails,
    IOptions<OAuthOptions> oauth,
    TimeProvider clock) : PageModel
{
    [BindProperty]
    public RegisterInput Input { get; set; } = new();

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public async Task<IActionResult> OnPostAsync()
    {
        if (!ModelState.IsValid)
        {
            return Page();
        }

        var user = new ApplicationUser
        {
            UserName = Input.Email,
            Email = Input.Email,
            DisplayName = string.IsNullOrWhiteSpace(Input.Name) ? null : Input.Name.Trim(),
            CreatedAt = clock.GetUtcNow(),
        };

        // The password's own rules first: they are the same for every address.
        foreach (var validator in users.PasswordValidators)
        {
            var check = await validator.ValidateAsync(users, user, Input.Password);
            foreach (var error in check.Errors)
            {
                ModelState.AddModelError(string.Empty, error.Description);
            }
        }

        if (!ModelState.IsValid)
        {
            return Page();
        }

        if (await users.FindByEmailAsync(Input.Email) is not null)
        {
            dummy.Verify(hasher, Input.Password);
            return await AlreadyRegisteredAsync();
        }

        var result = await users.CreateAsync(user, Input.Password);
        if (result.Succeeded)
        {
            await confirmation.SendAsync(user, path => PublicUrl.Of(Request, oauth.Value.Issuer, path), HttpContext.RequestAborted);
            return Registered();
        }

        // Taken between the lookup and the insert: the same answer as above.
        if (result.Errors.Any(error => error.Code is nameof(IdentityErrorDescriber.DuplicateEmail) or nameof(IdentityErrorDescriber.DuplicateUserName)))
        {
            return await AlreadyRegisteredAsync();
        }

        foreach (var error in result.Errors)
        {
            ModelState.AddModelError(string.Empty, error.Description);
        }

        return Page();
    }

    private async Task<IActionResult> AlreadyRegisteredAsync()
    {
        await emails.AlreadyRegisteredAsync(Input.Email, PublicUrl.Of(Request, oauth.Value.Issuer, Routes.SignIn), HttpContext.RequestAborted);
        return Registered();
    }

    private RedirectResult Registered() =>
        Redirect(Routes.SignIn + "?Registered=true&ReturnUrl=" + Uri.EscapeDataString(AccountsExtensions.LocalOrHome(Url, ReturnUrl)));

    internal sealed class RegisterInput
    {
        [Required, EmailAddress, StringLength(256)]
        public string Email { get; set; } = "";

        [StringLength(200)]
        public string? Name { get; set; }

        [Required, StringLength(128)]
        [DataType(DataType.Password)]
        public string Password { get; set; } = "";

        [Required, Compare(nameof(Password), ErrorMessage = "The passwords do not match.")]
        [DataType(DataType.Password)]
        public string ConfirmPassword { get; set; } = "";
    }
}
