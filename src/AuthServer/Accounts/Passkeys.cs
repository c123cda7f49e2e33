using System.Security.Claims;
using AuthServer.Audit;
using AuthServer.Data;
using AuthServer.RateLimiting;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.WebUtilities;

namespace AuthServer.Accounts;

/// <summary>A passkey as the security page lists it; <see cref="Id"/> is the credential id in base64url.</summary>
internal sealed record PasskeySummary(string Id, string Name, DateTimeOffset CreatedAt, bool Synced);

/// <summary>
/// Passkeys (WebAuthn) through Identity: the browser's authenticator answers a challenge the server made, which
/// Identity keeps in a short-lived cookie between the two requests and checks (origin, relying party, signature, user
/// verification). A passkey signs a person in by itself and counts as a second factor (<c>amr=mfa</c>): it is a key
/// held on a device, unlocked by the device's screen lock or biometrics.
/// </summary>
internal sealed class Passkeys(
    UserManager<ApplicationUser> users, SignInManager<ApplicationUser> signIn, AccountEmails emails, AuditLog audit, FailureLimits failures)
{
    public const int NameMaxLength = 100;

    /// <summary>Failed passkey sign-ins are counted per client address under this name (no account is known before).</summary>
    private const string PasskeySubject = "passkey";

    /// <summary>The largest answer from an authenticator we read (attestation objects are a few kilobytes at most).</summary>
    public const int CredentialMaxLength = 64 * 1024;

    public async Task<IReadOnlyList<PasskeySummary>> ListAsync(ApplicationUser user) =>
        [.. (await users.GetPasskeysAsync(user))
            .OrderBy(passkey => passkey.CreatedAt)
            .Select(passkey => new PasskeySummary(
                WebEncoders.Base64UrlEncode(passkey.CredentialId), passkey.Name ?? "Passkey", passkey.CreatedAt, passkey.IsBackedUp))];

    /// <summary>The options for <c>navigator.credentials.create()</c>; the account's own passkeys are excluded.</summary>
    public Task<string> CreationOptionsAsync(ApplicationUser user) =>
        signIn.MakePasskeyCreationOptionsAsync(new PasskeyUserEntity
        {
            Id = user.Id,
            Name = user.Email ?? user.Id,
            DisplayName = user.DisplayName ?? user.Email ?? user.Id,
        });

    /// <summary>Checks the authenticator's answer to <see cref="CreationOptionsAsync"/> and keeps the passkey; null, or why not.</summary>
    public async Task<string?> AddAsync(ApplicationUser user, string? credentialJson, string? name, Uri securityPage, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(credentialJson) || credentialJson.Length > CredentialMaxLength)
        {
            return "No passkey came from the browser.";
        }

        PasskeyAttestationResult result;
        try
        {
            result = await signIn.PerformPasskeyAttestationAsync(credentialJson);
        }
        catch (InvalidOperationException)
        {
            // Identity throws when its challenge cookie is missing: expired, used, or never asked for.
            return "The passkey request expired. Try again.";
        }

        if (!result.Succeeded)
        {
            return $"The passkey was not added: {result.Failure.Message}";
        }

        // The challenge was made for the account signed in then; it must be the same one now.
        if (result.UserEntity.Id != user.Id)
        {
            return "The passkey request was made for another account. Try again.";
        }

        var passkey = result.Passkey;
        passkey.Name = CleanName(name);
        var saved = await users.AddOrUpdatePasskeyAsync(user, passkey);
        if (!saved.Succeeded)
        {
            return "The passkey was not added: " + string.Join(" ", saved.Errors.Select(error => error.Description));
        }

        await audit.WriteAsync(user.Id, "account.passkey_added", user.Id, user.Id, new { name = passkey.Name }, cancellationToken);
        await NoticeAsync(user, "A passkey was added to your account",
            $"A passkey named \"{passkey.Name}\" was added to your account; it signs in without a password.", securityPage, cancellationToken);
        return null;
    }

    /// <summary>Renames one of the account's passkeys; false if it has none with that id.</summary>
    public async Task<bool> RenameAsync(ApplicationUser user, string? id, string? name)
    {
        if (Decode(id) is not { } credentialId || await users.GetPasskeyAsync(user, credentialId) is not { } passkey)
        {
            return false;
        }

        passkey.Name = CleanName(name);
        return (await users.AddOrUpdatePasskeyAsync(user, passkey)).Succeeded;
    }

    /// <summary>Removes one of the account's passkeys; false if it has none with that id.</summary>
    public async Task<bool> RemoveAsync(ApplicationUser user, string? id, Uri securityPage, CancellationToken cancellationToken)
    {
        if (Decode(id) is not { } credentialId || await users.GetPasskeyAsync(user, credentialId) is not { } passkey
            || !(await users.RemovePasskeyAsync(user, credentialId)).Succeeded)
        {
            return false;
        }

        await audit.WriteAsync(user.Id, "account.passkey_removed", user.Id, user.Id, new { name = passkey.Name }, cancellationToken);
        await NoticeAsync(user, "A passkey was removed from your account",
            $"The passkey named \"{passkey.Name}\" was removed from your account; it no longer signs in.", securityPage, cancellationToken);
        return true;
    }

    /// <summary>The options for <c>navigator.credentials.get()</c>: any passkey of this site (the person picks one).</summary>
    public Task<string> RequestOptionsAsync() => signIn.MakePasskeyRequestOptionsAsync(null);

    /// <summary>
    /// Signs in with the authenticator's answer to <see cref="RequestOptionsAsync"/>: the account it belongs to, unless
    /// that account is locked or may not sign in. The session says it was signed in with more than one factor.
    /// Failures count towards the client address's sign-in failure limit (a nonzero wait: refused for that long).
    /// </summary>
    public async Task<(bool SignedIn, int RetryAfterSeconds)> SignInAsync(HttpContext context, string? credentialJson)
    {
        var gate = await failures.AttemptAsync(FailureLimits.SignIn, context, PasskeySubject, context.RequestAborted);
        if (!gate.Admitted)
        {
            return (false, Math.Max(1, gate.RetryAfterSeconds));
        }

        if (!await TrySignInAsync(credentialJson))
        {
            return (false, 0);
        }

        await failures.ForgiveAsync(FailureLimits.SignIn, context, PasskeySubject, context.RequestAborted);
        return (true, 0);
    }

    private async Task<bool> TrySignInAsync(string? credentialJson)
    {
        if (string.IsNullOrEmpty(credentialJson) || credentialJson.Length > CredentialMaxLength)
        {
            return false;
        }

        PasskeyAssertionResult<ApplicationUser> result;
        try
        {
            result = await signIn.PerformPasskeyAssertionAsync(credentialJson);
        }
        catch (InvalidOperationException)
        {
            return false;
        }

        if (!result.Succeeded || await users.IsLockedOutAsync(result.User) || !await signIn.CanSignInAsync(result.User))
        {
            return false;
        }

        // Keeps the authenticator's new signature counter and backup state; as Identity does, no sign-in without it.
        if (!(await users.AddOrUpdatePasskeyAsync(result.User, result.Passkey)).Succeeded)
        {
            return false;
        }

        await signIn.SignInWithClaimsAsync(result.User, isPersistent: false, [new Claim(TwoFactorSignIn.AmrClaim, TwoFactorSignIn.MultiFactor)]);
        return true;
    }

    private Task NoticeAsync(ApplicationUser user, string subject, string what, Uri securityPage, CancellationToken cancellationToken) =>
        user.Email is { } email ? emails.NoticeAsync(email, subject, what, securityPage, cancellationToken) : Task.CompletedTask;

    private static string CleanName(string? name) =>
        name?.Trim() is { Length: > 0 } trimmed ? trimmed[..Math.Min(trimmed.Length, NameMaxLength)] : "Passkey";

    private static byte[]? Decode(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 2048)
        {
            return null;
        }

        try
        {
            return WebEncoders.Base64UrlDecode(id);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
