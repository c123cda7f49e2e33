using System.Security.Cryptography;
using AuthServer.Data;
using Microsoft.AspNetCore.Identity;

namespace AuthServer.Accounts;

/// <summary>The outcome of a sign-in with a password.</summary>
internal enum PasswordSignInResult
{
    SignedIn,

    /// <summary>Unknown address, wrong password, locked or not allowed: one answer for all, so none tells which.</summary>
    Failed,

    /// <summary>Too many failed attempts for this account from this address.</summary>
    Limited,

    /// <summary>The password was right; the account asks for its second factor next.</summary>
    TwoFactorRequired,
}

/// <summary>
/// Signs a person in with a password so that the answer never tells whether an address has an account: an unknown
/// address, a wrong password and a locked account get the same answer, and the same work (a password hash is
/// verified in each case, against a fixed dummy hash when there is no account or it is locked).
/// Failures are limited per client address and account together, counted in one atomic step before the password is
/// looked at: concurrent guesses cannot slip past the limit, and a person at the same address signing in to another
/// account is never held back by them.
/// </summary>
internal sealed class PasswordSignIn(
    UserManager<ApplicationUser> users,
    SignInManager<ApplicationUser> signIn,
    IPasswordHasher<ApplicationUser> hasher,
    DummyPasswordHash dummy,
    RateLimiting.FailureLimits failures)
{
    /// <summary>The answer to every failed sign-in.</summary>
    public const string FailureMessage = "Invalid email or password. After repeated failures, signing in to an account is paused for a while.";

    public async Task<(PasswordSignInResult Result, int RetryAfterSeconds)> SignInAsync(
        HttpContext context, string email, string password, bool persistent)
    {
        var account = users.NormalizeEmail(email) ?? email;
        var gate = await failures.AttemptAsync(RateLimiting.FailureLimits.SignIn, context, account, context.RequestAborted);
        if (!gate.Admitted)
        {
            return (PasswordSignInResult.Limited, gate.RetryAfterSeconds);
        }

        var user = await users.FindByEmailAsync(email);
        if (user is null || await users.IsLockedOutAsync(user) || !await signIn.CanSignInAsync(user))
        {
            dummy.Verify(hasher, password);
            return (PasswordSignInResult.Failed, 0);
        }

        // Every failure counts towards the account's lockout, whatever the address.
        var result = await signIn.PasswordSignInAsync(user, password, persistent, lockoutOnFailure: true);
        if (result.RequiresTwoFactor)
        {
            // The failures are forgiven once the second factor is given too.
            return (PasswordSignInResult.TwoFactorRequired, 0);
        }

        if (!result.Succeeded)
        {
            return (PasswordSignInResult.Failed, 0);
        }

        // Signed in without the second step although the account has one: this browser was remembered after a second
        // factor, which the session says (amr) as Identity does for the step itself.
        if (await signIn.IsTwoFactorEnabledAsync(user))
        {
            await signIn.SignInWithClaimsAsync(user, persistent, [new System.Security.Claims.Claim(TwoFactorSignIn.AmrClaim, TwoFactorSignIn.MultiFactor)]);
        }

        await failures.ForgiveAsync(RateLimiting.FailureLimits.SignIn, context, account, context.RequestAborted);
        return (PasswordSignInResult.SignedIn, 0);
    }
}

/// <summary>A password hash of nothing anyone knows, verified where there is no real one, so that the time taken is the same.</summary>
internal sealed class DummyPasswordHash
{
    private readonly Lazy<string> _hash = new(() =>
        new PasswordHasher<ApplicationUser>().HashPassword(new ApplicationUser(), RandomNumberGenerator.GetHexString(32)));

    public void Verify(IPasswordHasher<ApplicationUser> hasher, string password) =>
        _ = hasher.VerifyHashedPassword(new ApplicationUser(), _hash.Value, password);
}
