using System.Security.Claims;
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
internal sealed class IndexModel(AuthDbContext context, PayerResolver payers, UsageQueries usage, IOptions<OAuthOptions> oauth, TimeProvider clock)
    : PageModel
{
    /// <summary>How far ahead a key's expiry is shown (the expiry reminders use the same window).</summary>
    public static readonly TimeSpan ExpiringWithin = TimeSpan.FromDays(14);

    public IReadOnlyList<GettingStartedStep> Steps { get; private set; } = [];

    /// <summary>The newest working key's visible prefix, for the first call; <see langword="null"/> without one.</summary>
    public string? KeyPrefix { get; private set; }

    public string Tier { get; private set; } = AccountTiers.Free;

    public int Limit { get; private set; }

    public long ThisMinute { get; private set; }

    public long Today { get; private set; }

    public IReadOnlyList<ApiKey> ExpiringKeys { get; private set; } = [];

    public string BaseUrl => (oauth.Value.Issuer?.AbsoluteUri ?? $"{Request.Scheme}://{Request.Host}{Request.PathBase}/").TrimEnd('/');

    public async Task OnGetAsync()
    {
        if (User.FindFirst(ClaimTypes.NameIdentifier)?.Value is not { } ownerId)
        {
            return;
        }

        var cancellationToken = HttpContext.RequestAborted;
        var now = clock.GetUtcNow();

        // A developer has a handful of keys: read them and decide in memory (not every provider compares dates).
        var keys = await context.ApiKeys.AsNoTracking().Where(key => key.OwnerId == ownerId).ToListAsync(cancellationToken);
        var working = keys.Where(key => key.RevokedAt is null && (key.ExpiresAt is null || key.ExpiresAt > now)).OrderByDescending(key => key.CreatedAt).ToList();
        KeyPrefix = working.FirstOrDefault()?.DisplayPrefix;
        ExpiringKeys = [.. working.Where(key => key.ExpiresAt is { } expires && expires - now <= ExpiringWithin).OrderBy(key => key.ExpiresAt)];

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
