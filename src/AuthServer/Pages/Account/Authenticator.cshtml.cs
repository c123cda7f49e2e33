using System.Text;
using AuthServer.Accounts;
using AuthServer.Audit;
using AuthServer.Core;
using AuthServer.Data;
using AuthServer.OAuth;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using QRCoder;

namespace AuthServer.Pages.Account;

/// <summary>
/// The authenticator app (TOTP, RFC 6238): set up with a QR code or the key in text and confirmed with a first code,
/// which turns the second step on and shows ten recovery codes once; turned off with the password; new recovery codes
/// on demand. Each change is audited and told to the account's address.
/// </summary>
[Authorize]
internal sealed class AuthenticatorModel(
    AccountUserManager users,
    SignInManager<ApplicationUser> signIn,
    AccountEmails emails,
    AuditLog audit,
    IOptions<OAuthOptions> oauth) : PageModel
{
    private const string Issuer = "AuthServer";

    public bool Enabled { get; private set; }

    /// <summary>The shared key, in groups of four for typing.</summary>
    public string? SharedKey { get; private set; }

    /// <summary>The <c>otpauth://</c> URI as an SVG QR code.</summary>
    public string? QrCodeSvg { get; private set; }

    /// <summary>Recovery codes just made: shown in this response only.</summary>
    public IReadOnlyList<string>? RecoveryCodes { get; private set; }

    public int RecoveryCodesLeft { get; private set; }

    [BindProperty]
    public string? Code { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    public async Task<IActionResult> OnGetAsync() => await users.GetUserAsync(User) is { } user ? await ShowAsync(user) : Challenge();

    public async Task<IActionResult> OnPostEnableAsync()
    {
        if (await users.GetUserAsync(User) is not { } user)
        {
            return Challenge();
        }

        if (string.IsNullOrWhiteSpace(Code) || Code.Length > 20
            || !await users.VerifyTwoFactorTokenAsync(user, users.Options.Tokens.AuthenticatorTokenProvider, TwoFactorSignIn.Normalize(Code)))
        {
            ModelState.AddModelError(string.Empty, "That code is not right: type the six digits the app shows now.");
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return await ShowAsync(user);
        }

        await users.SetTwoFactorEnabledAsync(user, true);
        RecoveryCodes = [.. await users.GenerateNewTwoFactorRecoveryCodesAsync(user, AccountUserManager.RecoveryCodeCount) ?? []];

        // The stamp changed: this session goes on, now as one signed in with its second factor.
        var session = await HttpContext.AuthenticateAsync(IdentityConstants.ApplicationScheme);
        await signIn.SignInWithClaimsAsync(user, session.Properties, [new System.Security.Claims.Claim(TwoFactorSignIn.AmrClaim, TwoFactorSignIn.MultiFactor)]);
        await ChangedAsync(user, "account.two_factor_enabled", "A second factor was added to your account",
            "An authenticator app now gives the second step of signing in to your account.");
        return await ShowAsync(user);
    }

    public async Task<IActionResult> OnPostDisableAsync()
    {
        if (await users.GetUserAsync(User) is not { } user)
        {
            return Challenge();
        }

        if (string.IsNullOrEmpty(Password) || !await users.CheckPasswordAsync(user, Password))
        {
            ModelState.AddModelError(string.Empty, "The password is not right.");
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return await ShowAsync(user);
        }

        // A new key, so that the app's codes no longer work, and no recovery codes or remembered browsers left.
        await users.TurnOffAuthenticatorAsync(user);
        await signIn.ForgetTwoFactorClientAsync();
        await signIn.RefreshSignInAsync(user);
        await ChangedAsync(user, "account.two_factor_disabled", "A second factor was removed from your account",
            "The authenticator app no longer gives the second step of signing in to your account.");
        return RedirectToPage("Security", new { message = "The authenticator app is turned off." });
    }

    public async Task<IActionResult> OnPostRecoveryCodesAsync()
    {
        if (await users.GetUserAsync(User) is not { } user)
        {
            return Challenge();
        }

        if (!await users.GetTwoFactorEnabledAsync(user))
        {
            return RedirectToPage();
        }

        RecoveryCodes = [.. await users.GenerateNewTwoFactorRecoveryCodesAsync(user, AccountUserManager.RecoveryCodeCount) ?? []];
        await audit.WriteAsync(user.Id, "account.recovery_codes_renewed", user.Id, user.Id, null, HttpContext.RequestAborted);
        return await ShowAsync(user);
    }

    private async Task<IActionResult> ShowAsync(ApplicationUser user)
    {
        // The page may show the shared key or recovery codes: never stored.
        Response.Headers.CacheControl = "no-store";
        Enabled = await users.GetTwoFactorEnabledAsync(user);
        RecoveryCodesLeft = Enabled ? await users.CountRecoveryCodesAsync(user) : 0;
        if (!Enabled)
        {
            var key = await users.GetAuthenticatorKeyAsync(user);
            if (string.IsNullOrEmpty(key))
            {
                await users.ResetAuthenticatorKeyAsync(user);
                key = await users.GetAuthenticatorKeyAsync(user) ?? "";
                await signIn.RefreshSignInAsync(user);
            }

            SharedKey = Grouped(key);
            QrCodeSvg = QrSvg(OtpAuthUri(user.Email ?? user.Id, key));
        }

        return Page();
    }

    private async Task ChangedAsync(ApplicationUser user, string action, string subject, string what)
    {
        await audit.WriteAsync(user.Id, action, user.Id, user.Id, null, HttpContext.RequestAborted);
        if (user.Email is { } email)
        {
            await emails.NoticeAsync(email, subject, what, PublicUrl.Of(Request, oauth.Value.Issuer, Routes.Security), HttpContext.RequestAborted);
        }
    }

    /// <summary>The key URI format authenticator apps read (issuer, account, secret; SHA-1, 6 digits, 30 s by default).</summary>
    public static string OtpAuthUri(string account, string key) =>
        $"otpauth://totp/{Uri.EscapeDataString(Issuer)}:{Uri.EscapeDataString(account)}?secret={key}&issuer={Uri.EscapeDataString(Issuer)}&digits=6";

    private static string QrSvg(string content)
    {
        using var data = QRCodeGenerator.GenerateQrCode(content, QRCodeGenerator.ECCLevel.M);
        return new SvgQRCode(data).GetGraphic(4);
    }

    private static string Grouped(string key)
    {
        var grouped = new StringBuilder();
        for (var i = 0; i < key.Length; i += 4)
        {
            grouped.Append(key.AsSpan(i, Math.Min(4, key.Length - i))).Append(' ');
        }

        return grouped.ToString().TrimEnd().ToLowerInvariant();
    }
}
