using AuthServer.Audit;
using AuthServer.Data;
using AuthServer.RateLimiting;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;

namespace AuthServer.Accounts;

/// <summary>
/// Sets the rate-limit tier of an account, or of a client registered by an admin (which pays for itself); admins do
/// this through the admin API or the CLI. The change applies on this node at once and on the others within
/// <see cref="Core.CachingOptions.Payers"/>.
/// </summary>
internal sealed class AccountTierService(
    UserManager<ApplicationUser> users,
    AuthDbContext context,
    IOpenIddictApplicationManager applications,
    AuditLog audit,
    PayerResolver payers)
{
    public const int MaxRequestsPerMinute = 100_000_000;

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

        payers.InvalidateAccount(user.Id);
        await audit.WriteAsync(actor, "account.tier_changed", user.Id, user.Id, new { tier, requestsPerMinute }, cancellationToken);
        return user;
    }

    /// <summary>
    /// Sets the tier of a client registered by an admin. Returns <see langword="null"/> when there is no such client;
    /// throws <see cref="InvalidOperationException"/> for a client a developer registered (billed to the developer).
    /// </summary>
    public async Task<ClientTier?> SetClientAsync(
        string clientId, string tier, int? requestsPerMinute, string actor, CancellationToken cancellationToken)
    {
        if (await applications.FindByClientIdAsync(clientId, cancellationToken) is null)
        {
            return null;
        }

        if (await context.ClientOwners.AnyAsync(owner => owner.ClientId == clientId, cancellationToken))
        {
            throw new InvalidOperationException(
                "This client was registered by a developer; its calls are billed to the developer's account. Set that account's tier.");
        }

        var row = await context.ClientTiers.SingleOrDefaultAsync(t => t.ClientId == clientId, cancellationToken);
        if (row is null)
        {
            row = new ClientTier { ClientId = clientId, Tier = tier };
            context.ClientTiers.Add(row);
        }

        row.Tier = tier;
        row.RequestsPerMinute = tier == AccountTiers.Enterprise ? requestsPerMinute : null;
        await context.SaveChangesAsync(cancellationToken);
        payers.InvalidateClient(clientId);
        await audit.WriteAsync(actor, "client.tier_changed", clientId, null, new { tier, requestsPerMinute }, cancellationToken);
        return row;
    }
}
