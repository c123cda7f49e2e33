using System.Security.Claims;
using AuthServer.ApiKeys;
using AuthServer.Data;
using AuthServer.OAuth;
using AuthServer.RateLimiting;
using AuthServer.Usage;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenIddict.EntityFrameworkCore.Models;

namespace AuthServer.Pages;

/// <summary>A step of getting started, ticked once it is done.</summary>
internal sealed record GettingStartedStep(string Id, string Text, string Link, bool Done);

/// <summary>
/// The home page. Signed in, it starts a developer off: a checklist that ticks itself (a key, a first call, an app, a
/// first authorization of it), the first call to make, the tier with this minute's and today's usage, and the keys
/// that expire soon.
/// </summary>
internal sealed class IndexModel(
    AuthDbContext context, ApiKeyService apiKeys, PayerResolver payers, UsageQueries usage, IOptions<OAuthOptions> oauth, TimeProvider clock)
    : PageModel
{
    public IReadOnlyList<GettingStartedStep> Steps { get; private set; } = [];

    /// <summary>The newest working key as the dashboard shows it (prefix…last four), for the first call.</summary>
    public string? KeyDisplay { get; private set; }

    public string Tier { get; private set; } = AccountTiers.Free;

    public int Limit { get; private set; }

    public long ThisMinute { get; private set; }

    public long Today { get; private set; }

    /// <summary>Working keys within <c>ApiKeys:ExpiryWarningDays</c> of their expiry, soonest first.</summary>
    public IReadOnlyList<ApiKeyView> ExpiringKeys { get; private set; } = [];

    public string BaseUrl => (oauth.Value.Issuer?.AbsoluteUri ?? $"{Request.Scheme}://{Request.Host}{Request.PathBase}/").TrimEnd('/');

    public async Task OnGetAsync()
    {
        if (User.FindFirst(ClaimTypes.NameIdentifier)?.Value is not { } ownerId)
        {
            return;
        }

        var cancellationToken = HttpContext.RequestAborted;
        var now = clock.GetUtcNow();

        var keys = await apiKeys.ListAsync(ownerId, cancellationToken);
        KeyDisplay = keys.FirstOrDefault(key => key.Status == "active")?.Display;
        ExpiringKeys = [.. keys.Where(key => key.ExpiringSoon).OrderBy(key => key.ExpiresAt)];

        if (await payers.AccountLimitAsync(ownerId, cancellationToken) is var (tier, limit))
        {
            (Tier, Limit) = (tier, limit);
        }

        var minute = DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds() / 60 * 60);
        var midnight = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        ThisMinute = (await usage.ReportAsync(ownerId, minute, minute.AddMinutes(1), "minute", cancellationToken)).Totals.Total;
        Today = (await usage.ReportAsync(ownerId, midnight, minute.AddMinutes(1), "day", cancellationToken)).Totals.Total;

        var apps = await context.ClientOwners.AsNoTracking().Where(owner => owner.OwnerId == ownerId).Select(owner => owner.ClientId).ToListAsync(cancellationToken);
        var authorized = apps.Count > 0 && await context.Set<OpenIddictEntityFrameworkCoreAuthorization>().AsNoTracking()
            .AnyAsync(authorization => apps.Contains(authorization.Application!.ClientId!), cancellationToken);
        Steps =
        [
            new("key", "Create an API key", "/dashboard/keys", keys.Count > 0),
            new("call", "Make your first call", "#first-call", Today > 0 || keys.Any(key => key.LastUsedAt is not null)),
            new("app", "Register an app that signs people in", "/dashboard/apps", apps.Count > 0),
            new("authorization", "Complete a first authorization with your app", "/dashboard/apps", authorized),
        ];
    }
}
