using System.ComponentModel.DataAnnotations;
using AuthServer.Accounts;
using AuthServer.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace AuthServer.Pages.Account;

internal sealed class RegisterModel(
    UserManager<ApplicationUser> users, SignInManager<ApplicationUser> signIn, TimeProvider clock) : PageModel
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

        var result = await users.CreateAsync(user, Input.Password);
        if (!result.Succeeded)
        {
            foreach (var error in result.Errors)
            {
                ModelState.AddModelError(string.Empty, error.Description);
            }

            return Page();
        }

        await signIn.SignInAsync(user, isPersistent: false);
        return LocalRedirect(AccountsExtensions.LocalOrHome(Url, ReturnUrl));
    }

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
