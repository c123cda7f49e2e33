using System.Security.Cryptography;
using System.Text;
using AuthServer.Data;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AuthServer.Accounts;

/// <summary>
/// Identity's user manager, keeping recovery codes as SHA-256 hashes (Identity's store keeps them as written; a code
/// is ten random characters, about 47 bits, so a fast hash is enough; the codes are shown once, when made), and the
/// authenticator key encrypted with the Data Protection key ring (it cannot be hashed: codes are computed from it).
/// </summary>
internal sealed class AccountUserManager(
    IUserStore<ApplicationUser> store,
    IOptions<IdentityOptions> options,
    IPasswordHasher<ApplicationUser> passwordHasher,
    IEnumerable<IUserValidator<ApplicationUser>> userValidators,
    IEnumerable<IPasswordValidator<ApplicationUser>> passwordValidators,
    ILookupNormalizer keyNormalizer,
    IdentityErrorDescriber errors,
    IServiceProvider services,
    ILogger<UserManager<ApplicationUser>> logger,
    IDataProtectionProvider protection,
    AuthDbContext db)
    : AspNetUserManager<ApplicationUser>(store, options, passwordHasher, userValidators, passwordValidators, keyNormalizer, errors, services, logger)
{
    public const int RecoveryCodeCount = 10;

    private readonly IDataProtector _authenticatorKeys = protection.CreateProtector("AuthServer.Accounts.AuthenticatorKey");

    public override async Task<string?> GetAuthenticatorKeyAsync(ApplicationUser user)
    {
        var stored = await base.GetAuthenticatorKeyAsync(user);
        if (string.IsNullOrEmpty(stored))
        {
            return stored;
        }

        try
        {
            return _authenticatorKeys.Unprotect(stored);
        }
        catch (Exception exception) when (exception is CryptographicException or FormatException)
        {
            // A key stored before keys were encrypted; it is encrypted when the app is set up again.
            return stored;
        }
    }

    /// <summary>
    /// A new key, encrypted, and a new security stamp, as Identity's own reset does. The step of the old key's last code
    /// is forgotten (<see cref="OneTimeAuthenticatorCodes"/>): it says nothing of the new key's codes.
    /// </summary>
    public override async Task<IdentityResult> ResetAuthenticatorKeyAsync(ApplicationUser user)
    {
        await db.AuthenticatorSteps.Where(step => step.UserId == user.Id).ExecuteDeleteAsync(CancellationToken);
        await ((IUserAuthenticatorKeyStore<ApplicationUser>)Store).SetAuthenticatorKeyAsync(
            user, _authenticatorKeys.Protect(GenerateNewAuthenticatorKey()), CancellationToken);
        return await UpdateSecurityStampAsync(user);
    }

    /// <summary>Turns the authenticator app off: a new key, so that the app's codes stop working, and no recovery codes left.</summary>
    public async Task TurnOffAuthenticatorAsync(ApplicationUser user)
    {
        await SetTwoFactorEnabledAsync(user, false);
        await ResetAuthenticatorKeyAsync(user);
        await GenerateNewTwoFactorRecoveryCodesAsync(user, 0);
    }

    public override async Task<IEnumerable<string>?> GenerateNewTwoFactorRecoveryCodesAsync(ApplicationUser user, int number)
    {
        var codes = Enumerable.Range(0, number).Select(_ => CreateTwoFactorRecoveryCode()).ToList();
        await ((IUserTwoFactorRecoveryCodeStore<ApplicationUser>)Store).ReplaceCodesAsync(user, codes.Select(Hash), CancellationToken);
        return (await UpdateAsync(user)).Succeeded ? codes : null;
    }

    public override Task<IdentityResult> RedeemTwoFactorRecoveryCodeAsync(ApplicationUser user, string code) =>
        base.RedeemTwoFactorRecoveryCodeAsync(user, Hash(code));

    /// <summary>Spaces and case do not matter when a code is typed back.</summary>
    private static string Hash(string code) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(code.Replace(" ", "", StringComparison.Ordinal).Trim().ToUpperInvariant())));
}
