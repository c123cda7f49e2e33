using AuthServer.Audit;
using AuthServer.Data;
using Microsoft.AspNetCore.Identity;

namespace AuthServer.Accounts;

/// <summary>Sets an account's rate-limit tier (admins, through the admin API or the CLI).</summary>
internal sealed class AccountTierService(UserManager<ApplicationUser> users, AuditLog audit)
{
    public const int MaxRequestsPerMinute = 1_000_000;

    /// <summary>Returns an error message, or <see langword="null"/> when the tier was set.</summary>
    public static string? Validate(string? tier, int? requestsPerMinute)
    {
        if (tier is null || !AccountTiers.All.Contains(tier))
        {
            return $"The tier is one of: {string.Join(", ", AccountTiers.All)}.";
        }

        if (tier == AccountTiers.Enterprise)
        {
            return requestsPerMinute is >= 1 and <= MaxRequestsPerMinute
                ? null
                : $"An enterprise tier needs a limit between 1 and {MaxRequestsPerMinute} requests per minute.";
        }

        return requestsPerMinute is null ? null : "Only the enterprise tier takes a custom limit.";
    }

    public async Task<ApplicationUser?> SetAsync(
        string userId, string tier, int? requestsPerMinute, string actor, CancellationToken cancellationToken)
    {
        var user = await users.FindByIdAsync(userId);
        if (user is null)
        {
            return null;
        }

        user.Tier = tier;
        user.RequestsPerMinute = tier == AccountTiers.Enterprise ? requestsPerMinute : null;
        var result = await users.UpdateAsync(user);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException(string.Join(" ", result.Errors.Select(error => error.Description)));
        }

        await audit.WriteAsync(actor, "account.tier_changed", user.Id, user.Id, new { tier, requestsPerMinute }, cancellationToken);
        return user;
    }
}
