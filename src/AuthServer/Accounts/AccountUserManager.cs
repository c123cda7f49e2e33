using System.Security.Cryptography;
using System.Text;
using AuthServer.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace AuthServer.Accounts;

/// <summary>
/// Identity's user manager, keeping recovery codes as SHA-256 hashes (Identity's store keeps them as written). A code
/// is ten random characters (about 47 bits), so a fast hash is enough; the codes are shown once, when made.
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
    ILogger<UserManager<ApplicationUser>> logger)
    : AspNetUserManager<ApplicationUser>(store, options, passwordHasher, userValidators, passwordValidators, keyNormalizer, errors, services, logger)
{
    public const int RecoveryCodeCount = 10;

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
