using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthServer.ApiKeys;
using AuthServer.Data;
using AuthServer.Tests.Infrastructure;
using AuthServer.Usage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.RateLimiting;

/// <summary>Usage metering: counted in memory, flushed in batches, shown as a chart, reported to admins.</summary>
public sealed class UsageTests(RateLimitedServer server) : IClassFixture<RateLimitedServer>
{
    [Fact]
    public async Task Calls_AreCountedByCredentialAndOutcome_AfterAFlush()
    {
        using var account = await TestAccount.CreateAsync(server);
        using var api = server.CreateApiClient();
        await Calls.ManyAsync(api, account.Key, RateLimitedServer.Free + 3);
        var keyId = (await KeysAsync(account.Id)).Single().Id;

        Assert.Empty(await RecordsAsync(account.Id));
        await FlushAsync();

        var records = await RecordsAsync(account.Id);
        Assert.All(records, r => Assert.Equal("key:" + keyId, r.Credential));
        Assert.Equal(RateLimitedServer.Free, records.Where(r => r.StatusClass == "2xx").Sum(r => r.Count));
        Assert.Equal(3, records.Where(r => r.StatusClass == "429").Sum(r => r.Count));
    }

    [Fact]
    public async Task Flushes_AddUp_AndTokensCountAgainstTheirApp()
    {
        using var account = await TestAccount.CreateAsync(server);
        var token = await account.TokenOfOwnAppAsync(server);
        using var api = server.CreateApiClient();

        await Calls.ManyAsync(api, account.Key, 3);
        await FlushAsync();
        await Calls.ManyAsync(api, account.Key, 2);
        await Calls.ManyAsync(api, token, 4);
        await FlushAsync();

        var records = await RecordsAsync(account.Id);
        Assert.Equal(5, records.Where(r => r.Credential.StartsWith("key:", StringComparison.Ordinal)).Sum(r => r.Count));
        Assert.Equal(4, records.Where(r => r.Credential.StartsWith("client:", StringComparison.Ordinal)).Sum(r => r.Count));
    }

    [Fact]
    public async Task GracefulStop_WritesWhatWasCounted()
    {
        var path = TestDatabase.NewSqlitePath();
        string accountId;
        await using (var first = new ConfiguredAuthServerFactory(path, RateLimitedServer.Settings))
        {
            using var account = await TestAccount.CreateAsync(first);
            accountId = account.Id;
            using var api = first.CreateApiClient();
            await Calls.ManyAsync(api, account.Key, 7);
        }

        await using var second = new ConfiguredAuthServerFactory(path, RateLimitedServer.Settings);
        await using var scope = second.Services.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
        Assert.Equal(7, await context.UsageRecords.Where(r => r.AccountId == accountId).SumAsync(r => r.Count));
    }

    [Fact]
    public async Task FlushThatFails_KeepsTheCounts_ForTheNextFlush()
    {
        using var account = await TestAccount.CreateAsync(server);
        using var api = server.CreateApiClient();
        await Calls.ManyAsync(api, account.Key, 5);

        // A fault the flush meets: its table cannot be written (as if the database were unreachable).
        await SqlAsync("ALTER TABLE \"UsageRecords\" RENAME TO \"UsageRecordsAway\"");
        try
        {
            await FlushAsync();
        }
        finally
        {
            await SqlAsync("ALTER TABLE \"UsageRecordsAway\" RENAME TO \"UsageRecords\"");
        }

        Assert.Empty(await RecordsAsync(account.Id));
        await Calls.ManyAsync(api, account.Key, 2);
        await FlushAsync();
        Assert.Equal(7, (await RecordsAsync(account.Id)).Sum(r => r.Count));
    }

    [Fact]
    public async Task AdminUsage_ReportsAnAccountsCalls_AndRefusesBadRanges()
    {
        using var account = await TestAccount.CreateAsync(server);
        using var api = server.CreateApiClient();
        await Calls.ManyAsync(api, account.Key, 4);
        await FlushAsync();
        using var admin = await server.CreateAdminClientAsync();

        var report = await admin.GetFromJsonAsync<JsonElement>(
            $"/admin/usage?account={account.Id}&from={Uri.EscapeDataString($"{DateTimeOffset.UtcNow.AddHours(-1):O}")}&to={Uri.EscapeDataString($"{DateTimeOffset.UtcNow.AddMinutes(1):O}")}&granularity=minute");

        Assert.Equal(account.Id, report.GetProperty("account").GetString());
        Assert.Equal(4, report.GetProperty("totals").GetProperty("2xx").GetInt64());
        Assert.Equal(4, report.GetProperty("totals").GetProperty("total").GetInt64());
        Assert.Equal(4, report.GetProperty("by_credential")[0].GetProperty("counts").GetProperty("total").GetInt64());
        Assert.Equal(4, report.GetProperty("series").EnumerateArray().Sum(point => point.GetProperty("counts").GetProperty("2xx").GetInt64()));

        foreach (var query in new[] { "from=yesterday", "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", "granularity=week" })
        {
            using var bad = await admin.GetAsync("/admin/usage?" + query);
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Equal("invalid_request", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }

        using var anonymous = server.CreateApiClient();
        using var refused = await anonymous.GetAsync("/admin/usage");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task UsagePage_ShowsTierChartAndKeys()
    {
        using var account = await TestAccount.CreateAsync(server);
        using var api = server.CreateApiClient();
        await Calls.ManyAsync(api, account.Key, RateLimitedServer.Free + 2);
        await FlushAsync();

        foreach (var range in new[] { "24h", "7d" })
        {
            var (response, page) = await account.Browser.GetPageAsync("/dashboard/usage?range=" + range);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("free", page.QuerySelector("#tier")!.TextContent, StringComparison.Ordinal);
            Assert.Contains("10", page.QuerySelector("#tier")!.TextContent, StringComparison.Ordinal);
            var bars = page.QuerySelectorAll("#usage-chart g.bar");
            Assert.Equal(range == "24h" ? 24 : 7, bars.Length);
            Assert.Contains(bars, bar => bar.QuerySelector("title")!.TextContent.Contains("12 requests (10 ok, 0 errors, 2 rate limited", StringComparison.Ordinal));
            Assert.Contains(page.QuerySelectorAll("#usage-chart rect"), rect => rect.GetAttribute("fill") == "#d93f3f");
            var row = page.QuerySelector("#by-credential tbody tr")!;
            Assert.Contains("test key", row.TextContent, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task FailureBurst_AgainstARevokedKey_IsAnAlertForItsOwner()
    {
        using var account = await TestAccount.CreateAsync(server);
        using var api = server.CreateApiClient();
        var key = (await KeysAsync(account.Id)).Single();
        await using (var scope = server.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<ApiKeyService>().RevokeAsync(account.Id, key.Id, account.Id, CancellationToken.None);
        }

        var refused = await Calls.ManyAsync(api, account.Key, 6);
        Assert.All(refused, r => Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode));
        await FlushAsync();

        var alerts = await AlertsAsync(account.Id);
        var burst = Assert.Single(alerts, a => a.Action == SuspiciousActivity.FailureBurst && a.Target == key.Id);
        Assert.Equal("system", burst.Actor);
        var (_, page) = await account.Browser.GetPageAsync("/dashboard/usage");
        Assert.Contains("A burst of refused calls", page.QuerySelector("#alerts")!.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeyUsedFromManyAddresses_IsAnAlertOnce()
    {
        using var account = await TestAccount.CreateAsync(server);
        var key = (await KeysAsync(account.Id)).Single();
        var activity = server.Services.GetRequiredService<SuspiciousActivity>();

        foreach (var ip in new[] { "192.0.2.1", "192.0.2.2", "192.0.2.1", "198.51.100.7", "203.0.113.9" })
        {
            await activity.KeyUseAsync(key.Id, account.Id, ip);
        }

        await FlushAsync();
        var alert = Assert.Single(await AlertsAsync(account.Id), a => a.Action == SuspiciousActivity.KeyManyIps);
        Assert.Equal(key.Id, alert.Target);
        using var details = JsonDocument.Parse(alert.Details!);
        Assert.Equal(3, details.RootElement.GetProperty("distinct_ips").GetInt32());
    }

    private Task FlushAsync() => server.Services.GetRequiredService<UsageMeter>().FlushAsync(CancellationToken.None);

    private async Task SqlAsync(string sql)
    {
        await using var scope = server.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<AuthDbContext>().Database.ExecuteSqlRawAsync(sql);
    }

    private async Task<List<UsageRecord>> RecordsAsync(string accountId)
    {
        await using var scope = server.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AuthDbContext>().UsageRecords.AsNoTracking()
            .Where(r => r.AccountId == accountId).ToListAsync();
    }

    private async Task<List<AuditEvent>> AlertsAsync(string accountId)
    {
        await using var scope = server.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AuthDbContext>().AuditEvents.AsNoTracking()
            .Where(e => e.AccountId == accountId && e.Action.StartsWith("security.")).ToListAsync();
    }

    private async Task<IReadOnlyList<ApiKeyView>> KeysAsync(string accountId)
    {
        await using var scope = server.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<ApiKeyService>().ListAsync(accountId, CancellationToken.None);
    }
}
