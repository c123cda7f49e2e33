using System.Security.Claims;
using AuthServer.Core;
using AuthServer.Data;
using AuthServer.RateLimiting;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace AuthServer.Accounts;

/// <summary>
/// Confirmation of an account's address: the link sent at sign-up (and again on request), and the rule that an account
/// whose address is not confirmed may sign in but not create keys or apps, nor let an app use it
/// (<see cref="AccountsOptions.RequireConfirmedEmail"/>).
/// </summary>
internal sealed class EmailConfirmation(
    UserManager<ApplicationUser> users,
    AccountEmails emails,
    IRateLimitStore limits,
    IOptions<AccountsOptions> accounts)
{
    /// <summary>What a page says when it refuses an unconfirmed account.</summary>
    public const string Required = "Confirm your email address first: follow the link we sent you (or send it again from your account's security page).";

    /// <summary>Whether the signed-in person must confirm their address before doing what the caller is about to do.</summary>
    public async Task<bool> IsMissingAsync(ClaimsPrincipal principal) =>
        accounts.Value.RequireConfirmedEmail
        && (await users.GetUserAsync(principal) is not { } user || !await users.IsEmailConfirmedAsync(user));

    /// <summary>Emails the confirmation link to the account's address; <paramref name="absolute"/> makes the link absolute (<see cref="PublicUrl"/>).</summary>
    public async Task SendAsync(ApplicationUser user, Func<string, Uri> absolute, CancellationToken cancellationToken)
    {
        if (user.Email is not { } email)
        {
            return;
        }

        var token = await users.GenerateEmailConfirmationTokenAsync(user);
        var link = QueryHelpers.AddQueryString(Routes.ConfirmEmail, new Dictionary<string, string?>
        {
            ["user"] = user.Id,
            ["code"] = EmailTokens.Encode(token),
        });
        await emails.ConfirmAddressAsync(email, absolute(link), cancellationToken);
    }

    /// <summary>Sends the link again, at most <see cref="AccountsOptions.ResetRequestsPerMinute"/> times a minute per account.</summary>
    public async Task<RateLimitDecision> ResendAsync(ApplicationUser user, Func<string, Uri> absolute, CancellationToken cancellationToken)
    {
        var gate = await limits.AcquireAsync("confirm:account:" + user.Id, accounts.Value.ResetRequestsPerMinute, 1, cancellationToken);
        if (gate.Admitted)
        {
            await SendAsync(user, absolute, cancellationToken);
        }

        return gate;
    }
}
