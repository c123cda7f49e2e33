using System.ComponentModel.DataAnnotations;
using System.Globalization;
using AuthServer.Accounts;
using AuthServer.Core;
using AuthServer.Data;
using AuthServer.OAuth;
using AuthServer.RateLimiting;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace AuthServer.Pages.Account;

/// <summary>
/// Asks for a password-reset link. The page answers the same whatever the address, and does the same work: an email
/// goes to the address either way (a link when it has an account, a note that it has none otherwise), so neither the
/// answer nor its timing tells who has an account. Requests are limited per address and per client IP.
/// </summary>
internal sealed class ForgotPasswordModel(
    UserManager<ApplicationUser> users,
    AccountEmails emails,
    IRateLimitStore limits,
    IOptions<AccountsOptions> accounts,
    IOptions<OAuthOptions> oauth) : PageModel
{
    [BindProperty]
    public ForgotPasswordInput Input { get; set; } = new();

    public bool Sent { get; private set; }

    public string LinkLifetime => AccountEmails.Describe(accounts.Value.ResetLinkLifetime);

    public async Task<IActionResult> OnPostAsync()
    {
        if (!ModelState.IsValid)
        {
            return Page();
        }

        var address = users.NormalizeEmail(Input.Email) ?? Input.Email;
        var perMinute = accounts.Value.ResetRequestsPerMinute;
        foreach (var key in new[] { "reset:address:" + address, "reset:ip:" + ClientAddress.Of(HttpContext) })
        {
            var gate = await limits.AcquireAsync(key, perMinute, 1, HttpContext.RequestAborted);
            if (!gate.Admitted)
            {
                Response.StatusCode = StatusCodes.Status429TooManyRequests;
                Response.Headers.RetryAfter = gate.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                ModelState.AddModelError(string.Empty, $"Too many requests for a reset link. Try again in {gate.RetryAfterSeconds} seconds.");
                return Page();
            }
        }

        var user = await users.FindByEmailAsync(Input.Email);
        if (user?.Email is { } email)
        {
            var token = await users.GeneratePasswordResetTokenAsync(user);
            var link = QueryHelpers.AddQueryString(Routes.ResetPassword, new Dictionary<string, string?>
            {
                ["user"] = user.Id,
                ["code"] = EmailTokens.Encode(token),
            });
            await emails.PasswordResetAsync(email, Absolute(link), accounts.Value.ResetLinkLifetime, HttpContext.RequestAborted);
        }
        else
        {
            await emails.NoAccountAsync(Input.Email, Absolute(Routes.Register), HttpContext.RequestAborted);
        }

        Sent = true;
        return Page();
    }

    private Uri Absolute(string pathAndQuery) => PublicUrl.Of(Request, oauth.Value.Issuer, pathAndQuery);
}

public sealed class ForgotPasswordInput
{
    [Required]
    [EmailAddress]
    [StringLength(256)]
    public string Email { get; set; } = "";
}
