using System.Security.Claims;
using AuthServer.Audit;
using AuthServer.Data;
using AuthServer.RateLimiting;
using Microsoft.AspNetCore.Identity;

namespace AuthServer.Accounts;

/// <summary>The outcome of the second step of a sign-in.</summary>
internal enum SecondFactorResult
{
    SignedIn,

    /// <summary>A wrong or used code.</summary>
    Failed,

    /// <summary>Too many wrong codes: the account is locked for a while (the failures count towards its lockout).</summary>
    LockedOut,

    /// <summary>Too many failures for this account from this address.</summary>
    Limited,

    /// <summary>No password step is pending in this browser (it expired, or never happened).</summary>
    NoPendingSignIn,
}

/// <summary>
/// The second step of a sign-in, after the password: an authenticator code or a recovery code. Wrong codes count
/// towards the account's lockout as wrong passwords do, and towards the same per-address limit.
/// </summary>
internal sealed class TwoFactorSignIn(
    UserManager<ApplicationUser> users, SignInManager<ApplicationUser> signIn, FailureLimits failures, AuditLog audit)
{
    /// <summary>The claim that says how a session was signed in (RFC 8176); Identity writes <c>mfa</c> after a second factor.</summary>
    public const string AmrClaim = "amr";
    public const string MultiFactor = "mfa";

    /// <summary>Whether the session was signed in with a second factor.</summary>
    public static bool HasSecondFactor(ClaimsPrincipal principal) => principal.HasClaim(AmrClaim, MultiFactor);

    /// <summary>The account whose password was just given in this browser, if any.</summary>
    public Task<ApplicationUser?> PendingAsync() => signIn.GetTwoFactorAuthenticationUserAsync();

    public Task<(SecondFactorResult Result, int RetryAfterSeconds)> AuthenticatorCodeAsync(
        HttpContext context, string code, bool persistent, bool rememberDevice) =>
        SignInAsync(context, _ => signIn.TwoFactorAuthenticatorSignInAsync(Normalize(code), persistent, rememberDevice));

    public Task<(SecondFactorResult Result, int RetryAfterSeconds)> RecoveryCodeAsync(HttpContext context, string code) =>
        SignInAsync(context, async user =>
        {
            var result = await signIn.TwoFactorRecoveryCodeSignInAsync(code);
            if (result.Succeeded)
            {
                await audit.WriteAsync(user.Id, "account.recovery_code_used", user.Id, user.Id,
                    new { remaining = await users.CountRecoveryCodesAsync(user) }, context.RequestAborted);
                return result;
            }

            // Identity does not count a wrong recovery code towards the lockout; we do.
            await users.AccessFailedAsync(user);
            return await users.IsLockedOutAsync(user) ? Microsoft.AspNetCore.Identity.SignInResult.LockedOut : result;
        });

    private async Task<(SecondFactorResult Result, int RetryAfterSeconds)> SignInAsync(
        HttpContext context, Func<ApplicationUser, Task<Microsoft.AspNetCore.Identity.SignInResult>> attempt)
    {
        if (await PendingAsync() is not { } user)
        {
            return (SecondFactorResult.NoPendingSignIn, 0);
        }

        var account = user.NormalizedEmail ?? user.Id;
        var gate = await failures.AttemptAsync(FailureLimits.SignIn, context, account, context.RequestAborted);
        if (!gate.Admitted)
        {
            return (SecondFactorResult.Limited, gate.RetryAfterSeconds);
        }

        var result = await attempt(user);
        if (result.Succeeded)
        {
            await failures.ForgiveAsync(FailureLimits.SignIn, context, account, context.RequestAborted);
            return (SecondFactorResult.SignedIn, 0);
        }

        return (result.IsLockedOut ? SecondFactorResult.LockedOut : SecondFactorResult.Failed, 0);
    }

    /// <summary>Authenticator apps show codes as "123 456".</summary>
    public static string Normalize(string code) => code.Replace(" ", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal).Trim();
}
