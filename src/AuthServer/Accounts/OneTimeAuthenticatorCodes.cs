using AuthServer.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using OtpNet;

namespace AuthServer.Accounts;

/// <summary>
/// Authenticator codes (RFC 6238) checked as Identity checks them (the code of the current 30-second step, or of up to
/// two steps either side, for clocks that drift), except that each code works once: the step of the last accepted code
/// is kept for the account, and a code of that step or an earlier one is refused (RFC 6238 §5.2). A code read over a
/// shoulder or kept by a phishing proxy cannot be used again.
/// </summary>
internal sealed class OneTimeAuthenticatorCodes(AuthDbContext db) : AuthenticatorTokenProvider<ApplicationUser>
{
    private static readonly VerificationWindow Window = new(previous: 2, future: 2);

    public override async Task<bool> ValidateAsync(string purpose, string token, UserManager<ApplicationUser> manager, ApplicationUser user)
    {
        var key = await manager.GetAuthenticatorKeyAsync(user);
        if (string.IsNullOrEmpty(key) || token.Length != 6 || !token.All(char.IsAsciiDigit)
            || !new Totp(Base32Encoding.ToBytes(key)).VerifyTotp(token, out var step, Window))
        {
            return false;
        }

        // One statement moves the account's step forward, so of two requests racing with one code only one wins.
        if (await db.AuthenticatorSteps
                .Where(row => row.UserId == user.Id && row.LastStep < step)
                .ExecuteUpdateAsync(set => set.SetProperty(row => row.LastStep, step)) == 1)
        {
            return true;
        }

        if (await db.AuthenticatorSteps.AnyAsync(row => row.UserId == user.Id))
        {
            return false;
        }

        // The account's first code: the primary key lets one of two racing inserts win.
        var first = new AuthenticatorStep { UserId = user.Id, LastStep = step };
        db.AuthenticatorSteps.Add(first);
        try
        {
            await db.SaveChangesAsync();
            return true;
        }
        catch (DbUpdateException)
        {
            return false;
        }
        finally
        {
            db.Entry(first).State = EntityState.Detached;
        }
    }
}
