using AuthServer.ApiKeys;
using AuthServer.Clients;
using AuthServer.Data;
using AuthServer.RateLimiting;
using AuthServer.Usage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace AuthServer.Pages.Dashboard;

/// <summary>The developer's usage: requests over the last 24 hours or 7 days, by key and app, with alerts.</summary>
[Authorize]
internal sealed class UsageModel(
    UsageQueries usage,
    ApiKeyService keys,
    DeveloperApps apps,
    PayerResolver payers,
    AuthDbContext context,
    TimeProvider clock) : PageModel
{
    public string Range { get; private set; } = "24h";

    public string Tier { get; private set; } = AccountTiers.Free;

    public int Limit { get; private set; }

    public UsageReport Report { get; private set; } = null!;

    public UsageChart Chart { get; private set; } = null!;

    /// <summary>Each credential with its display name: <c>key:…</c> for a key, <c>client:…</c> for an app.</summary>
    public IReadOnlyDictionary<string, string> Names { get; private set; } = new Dictionary<string, string>();

    public IReadOnlyList<AuditEvent> Alerts { get; private set; } = [];

    public async Task OnGetAsync(string? range)
    {
        var cancellationToken = HttpContext.RequestAborted;
        var ownerId = User.FindFirst(System.Security.Claims.ClaimTypes.NameIdentifier)!.Value;
        Range = range == "7d" ? "7d" : "24h";

        if (await payers.AccountLimitAsync(ownerId, cancellationToken) is var (tier, limit))
        {
            (Tier, Limit) = (tier, limit);
        }

        var now = clock.GetUtcNow();
        if (Range == "7d")
        {
            var end = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
            Report = await usage.ReportAsync(ownerId, end.AddDays(-7), end, "day", cancellationToken);
            Chart = new UsageChart(Report, "ddd d MMM", 1);
        }
        else
        {
            var end = new DateTimeOffset(now.UtcDateTime.Date.AddHours(now.UtcDateTime.Hour + 1), TimeSpan.Zero);
            Report = await usage.ReportAsync(ownerId, end.AddHours(-24), end, "hour", cancellationToken);
            Chart = new UsageChart(Report, "HH:mm", 3);
        }

        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in await keys.ListAsync(ownerId, cancellationToken))
        {
            names["key:" + key.Id] = $"{key.Name} ({key.Display})";
        }

        foreach (var app in await apps.ListAsync(ownerId, cancellationToken))
        {
            names["client:" + app.ClientId] = $"{app.Name} (app)";
        }

        Names = names;

        // Newest first by id: the providers do not all order by a DateTimeOffset column.
        var since = now.AddDays(-7);
        var alerts = await context.AuditEvents.AsNoTracking()
            .Where(e => e.AccountId == ownerId && (e.Action.StartsWith("security.") || e.Action == "api_key.expired_use"))
            .OrderByDescending(e => e.Id)
            .Take(50)
            .ToListAsync(cancellationToken);
        Alerts = [.. alerts.Where(e => e.At >= since)];
    }

    public string NameOf(string credential) => Names.TryGetValue(credential, out var name) ? name : credential;

    public static string Describe(AuditEvent alert) => alert.Action switch
    {
        SuspiciousActivity.FailureBurst => "A burst of refused calls (401/403)",
        SuspiciousActivity.KeyManyIps => "A key used from many addresses",
        "api_key.expired_use" => "An expired key is still being used",
        _ => alert.Action,
    };
}
