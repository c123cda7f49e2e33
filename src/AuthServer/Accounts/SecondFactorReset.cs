using AuthServer.Audit;
using AuthServer.Data;
using Microsoft.AspNetCore.Identity;

namespace AuthServer.Accounts;

/// <summary>What <see cref="SecondFactorReset.ResetAsync"/> removed.</summary>
internal sealed record SecondFactorsRemoved(bool AuthenticatorWasOn, int Passkeys);

/// <summary>
/// For a person who lost their second factors (an admin acts for them): the authenticator app is turned off, every
/// passkey removed, and every session and remembered browser ended, since whoever holds the lost device is signed in
/// too. Audited, and told to the account's address when a link to its security page can be made.
/// </summary>
internal sealed class SecondFactorReset(AccountUserManager users, AuditLog audit, AccountEmails emails)
{
    public async Task<SecondFactorsRemoved> ResetAsync(ApplicationUser user, string actor, Uri? securityPage, CancellationToken cancellationToken)
    {
        var authenticatorWasOn = await users.GetTwoFactorEnabledAsync(user);
        await users.TurnOffAuthenticatorAsync(user);
        var passkeys = await users.GetPasskeysAsync(user);
        foreach (var passkey in passkeys)
        {
            Succeed(await users.RemovePasskeyAsync(user, passkey.CredentialId));
        }

        Succeed(await users.UpdateSecurityStampAsync(user));
        await audit.WriteAsync(actor, "account.second_factors_reset", user.Id, user.Id,
            new { authenticator = authenticatorWasOn, passkeys = passkeys.Count }, cancellationToken);
        if (user.Email is { } address && securityPage is not null)
        {
            await emails.NoticeAsync(address, "The second factors of your account were removed",
                "An administrator turned off the authenticator app and removed the passkeys of your account, and signed out every session.",
                securityPage, cancellationToken);
        }

        return new SecondFactorsRemoved(authenticatorWasOn, passkeys.Count);
    }

    private static void Succeed(IdentityResult result)
    {
        if (!result.Succeeded)
        {
            throw new InvalidOperationException(string.Join(" ", result.Errors.Select(error => error.Description)));
        }
    }
}
