using System.Net;
using System.Text.Json;
using AuthServer.Data;
using AuthServer.Hosting;
using AuthServer.Retention;
using AuthServer.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.EntityFrameworkCore.Models;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.Tests.Retention;

/// <summary>Pruning removes what is past its retention, keeps everything live, and never gets in the way of issuance.</summary>
public sealed class PruningTests
{
    private static readonly DateTime Now = DateTime.UtcNow;

    [Fact]
    public async Task Prune_FromTheCommandLine_RemovesWhatIsPastRetention_AndKeepsWhatIsLive()
    {
        await using var factory = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath());

        // Audit ids follow time: the old event is written first, before the sign-up's own events.
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
            context.AuditEvents.Add(new AuditEvent { At = DateTimeOffset.UtcNow.AddDays(-500), Actor = "system", Action = "test.old" });
            await context.SaveChangesAsync();
        }

        var (browser, client, tokens) = await OAuthFlow.FullFlowAsync(factory);
        browser.Dispose();

        string keptRedeemedRefresh, keptCode, keptGrant;
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
            var application = await context.Set<OpenIddictEntityFrameworkCoreApplication>().SingleAsync(app => app.ClientId == client.ClientId);
            var revokedGrant = Authorization(application, Statuses.Revoked, AuthorizationTypes.Permanent, Now.AddDays(-30));
            var abandonedAdHoc = Authorization(application, Statuses.Valid, AuthorizationTypes.AdHoc, Now.AddDays(-30));
            var oldConsent = Authorization(application, Statuses.Valid, AuthorizationTypes.Permanent, Now.AddDays(-30));
            context.AddRange(revokedGrant, abandonedAdHoc, oldConsent);
            context.AddRange(
                Token(application, null, TokenTypeIdentifiers.AccessToken, Statuses.Revoked, Now.AddDays(-30), Now.AddDays(1)),
                Token(application, null, TokenTypeIdentifiers.AccessToken, Statuses.Valid, Now.AddDays(-30), Now.AddDays(-10)),
                Token(application, null, TokenTypeIdentifiers.Private.AuthorizationCode, Statuses.Redeemed, Now.AddDays(-30), Now.AddDays(-30).AddMinutes(5)),
                Token(application, revokedGrant, TokenTypeIdentifiers.RefreshToken, Statuses.Revoked, Now.AddDays(-30), Now.AddDays(-16)));
            var redeemedRefresh = Token(application, oldConsent, TokenTypeIdentifiers.RefreshToken, Statuses.Redeemed, Now.AddDays(-10), Now.AddDays(4));
            var liveCode = Token(application, oldConsent, TokenTypeIdentifiers.Private.AuthorizationCode, Statuses.Valid, Now, Now.AddMinutes(5));
            context.AddRange(redeemedRefresh, liveCode);
            (keptRedeemedRefresh, keptCode, keptGrant) = (redeemedRefresh.Id!, liveCode.Id!, oldConsent.Id!);

            var minute = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60;
            context.UsageRecords.AddRange(
                new UsageRecord { AccountId = "a", Credential = "key:old", Minute = minute - (500 * 24 * 60), StatusClass = "2xx", Count = 3 },
                new UsageRecord { AccountId = "a", Credential = "key:today", Minute = minute, StatusClass = "2xx", Count = 3 });
            await context.SaveChangesAsync();

            context.AuditEvents.Add(new AuditEvent { At = DateTimeOffset.UtcNow, Actor = "system", Action = "test.today" });

            // Emails sent or given up ten days ago go; one sent today and one still waiting stay.
            var tenDaysAgo = DateTimeOffset.UtcNow.AddDays(-10).ToUnixTimeMilliseconds();
            context.OutboxMessages.AddRange(
                Email("sent-long-ago", sentAt: tenDaysAgo, gaveUpAt: null, nextAttemptAt: tenDaysAgo),
                Email("given-up-long-ago", sentAt: null, gaveUpAt: tenDaysAgo, nextAttemptAt: tenDaysAgo),
                Email("sent-today", sentAt: DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), gaveUpAt: null, nextAttemptAt: tenDaysAgo),
                Email("waiting", sentAt: null, gaveUpAt: null, nextAttemptAt: DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeMilliseconds()));
            await context.SaveChangesAsync();
        }

        var result = await CliRunner.RunAsync(factory.DatabasePath, "prune");
        Assert.True(result.ExitCode == 0, result.Stderr);
        using var counts = JsonDocument.Parse(result.Stdout);
        Assert.Equal(4, counts.RootElement.GetProperty("tokens").GetInt64());
        Assert.Equal(2, counts.RootElement.GetProperty("authorizations").GetInt64());
        Assert.Equal(1, counts.RootElement.GetProperty("usage").GetInt64());
        Assert.Equal(1, counts.RootElement.GetProperty("audit").GetInt64());
        Assert.Equal(0, counts.RootElement.GetProperty("keys").GetInt64());
        Assert.Equal(2, counts.RootElement.GetProperty("emails").GetInt64());

        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
            var left = await context.Set<OpenIddictEntityFrameworkCoreToken>().Select(token => token.Id).ToListAsync();
            Assert.Contains(keptRedeemedRefresh, left);
            Assert.Contains(keptCode, left);
            Assert.True(await context.Set<OpenIddictEntityFrameworkCoreAuthorization>().AnyAsync(grant => grant.Id == keptGrant));
            Assert.Equal(["key:today"], await context.UsageRecords.Select(usage => usage.Credential).ToListAsync());
            Assert.DoesNotContain("test.old", await context.AuditEvents.Select(audit => audit.Action).ToListAsync());
            Assert.Contains("test.today", await context.AuditEvents.Select(audit => audit.Action).ToListAsync());
            var subjects = await context.OutboxMessages.Select(message => message.Subject).ToListAsync();
            Assert.Contains("sent-today", subjects);
            Assert.Contains("waiting", subjects);
            Assert.DoesNotContain("sent-long-ago", subjects);
            Assert.DoesNotContain("given-up-long-ago", subjects);
        }

        // The person's own tokens are untouched: the access token works and the refresh token redeems.
        using var http = factory.CreateApiClient();
        using var profile = new HttpRequestMessage(HttpMethod.Get, "/v1/user/profile") { Headers = { Authorization = new("Bearer", tokens.AccessToken) } };
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(profile)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await OAuthFlow.RefreshAsync(http, client, tokens.RefreshToken!)).Status);

        // A second pass finds nothing more.
        var again = await CliRunner.RunAsync(factory.DatabasePath, "prune");
        using var none = JsonDocument.Parse(again.Stdout);
        Assert.Equal(0, none.RootElement.GetProperty("tokens").GetInt64());
    }

    [Fact]
    public async Task Prune_WhileTokensAreIssuedAndRedeemed_FailsNothing_AndLosesNothingLive()
    {
        await using var factory = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
        {
            ["Retention:BatchSize"] = "50",
        });
        var service = await factory.RegisterServiceAsync("read");
        var (browser, client, tokens) = await OAuthFlow.FullFlowAsync(factory);
        browser.Dispose();
        await SeedSpentTokensAsync(factory, service.ClientId, 2_000);

        using var http = factory.CreateApiClient();
        var prune = PruningService.RunOnceAsync(factory.Services.GetRequiredService<IServiceScopeFactory>(), CancellationToken.None);
        var issued = new List<string>();
        var refresh = tokens.RefreshToken!;
        while (!prune.IsCompleted || issued.Count < 20)
        {
            var response = await OAuthFlow.TokenAsync(http, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials" });
            Assert.Equal(HttpStatusCode.OK, response.Status);
            issued.Add(response.AccessToken);

            var refreshed = await OAuthFlow.RefreshAsync(http, client, refresh);
            Assert.Equal(HttpStatusCode.OK, refreshed.Status);
            refresh = refreshed.RefreshToken!;
        }

        Assert.Equal(2_000, (await prune).Tokens);
        foreach (var token in issued)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/introspect")
            {
                Headers = { Authorization = OAuthFlow.Basic(service) },
                Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
            };
            using var answer = JsonDocument.Parse(await (await http.SendAsync(request)).Content.ReadAsStringAsync());
            Assert.True(answer.RootElement.GetProperty("active").GetBoolean());
        }

        Assert.Equal(HttpStatusCode.OK, (await OAuthFlow.RefreshAsync(http, client, refresh)).Status);
    }

    [Fact]
    public async Task BackgroundPruning_RunsOnItsInterval_UnderALease()
    {
        await using var factory = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
        {
            ["Retention:Interval"] = "00:00:01",
        });
        var service = await factory.RegisterServiceAsync("read");
        await SeedSpentTokensAsync(factory, service.ClientId, 10);

        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (await CountTokensAsync(factory) > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "The spent tokens were not pruned within 15 s.");
            await Task.Delay(200);
        }

        await using var scope = factory.Services.CreateAsyncScope();
        var lease = await scope.ServiceProvider.GetRequiredService<AuthDbContext>().Leases.SingleAsync(lease => lease.Name == PruningService.LeaseName);
        Assert.Equal(factory.Services.GetRequiredService<JobLeases>().Holder, lease.Holder);
    }

    [Fact]
    public async Task Lease_IsHeldByOneNodeAtATime()
    {
        var path = TestDatabase.NewSqlitePath();
        await using var first = new ConfiguredAuthServerFactory(path);
        await using var second = new ConfiguredAuthServerFactory(path);
        _ = first.Services;
        _ = second.Services;
        var (a, b) = (first.Services.GetRequiredService<JobLeases>(), second.Services.GetRequiredService<JobLeases>());

        var both = await Task.WhenAll(
            a.TryAcquireAsync("job", TimeSpan.FromMinutes(1), CancellationToken.None),
            b.TryAcquireAsync("job", TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.Single(both, taken => taken);

        var (holder, other) = both[0] ? (a, b) : (b, a);
        Assert.True(await holder.TryAcquireAsync("job", TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.False(await other.TryAcquireAsync("job", TimeSpan.FromMinutes(1), CancellationToken.None));
        await holder.ReleaseAsync("job", CancellationToken.None);
        Assert.True(await other.TryAcquireAsync("job", TimeSpan.FromMinutes(1), CancellationToken.None));
    }

    private static async Task SeedSpentTokensAsync(ConfiguredAuthServerFactory factory, string clientId, int count)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
        var application = await context.Set<OpenIddictEntityFrameworkCoreApplication>().SingleAsync(app => app.ClientId == clientId);
        context.AddRange(Enumerable.Range(0, count)
            .Select(_ => Token(application, null, TokenTypeIdentifiers.AccessToken, Statuses.Revoked, Now.AddDays(-30), Now.AddDays(-29))));
        await context.SaveChangesAsync();
    }

    private static async Task<int> CountTokensAsync(ConfiguredAuthServerFactory factory)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AuthDbContext>().Set<OpenIddictEntityFrameworkCoreToken>().CountAsync();
    }

    private static OpenIddictEntityFrameworkCoreAuthorization Authorization(
        OpenIddictEntityFrameworkCoreApplication application, string status, string type, DateTime created) => new()
        {
            Application = application,
            Status = status,
            Type = type,
            Subject = "someone",
            CreationDate = created,
        };

    private static OpenIddictEntityFrameworkCoreToken Token(
        OpenIddictEntityFrameworkCoreApplication application,
        OpenIddictEntityFrameworkCoreAuthorization? authorization,
        string type,
        string status,
        DateTime created,
        DateTime expires) => new()
        {
            Application = application,
            Authorization = authorization,
            Type = type,
            Status = status,
            Subject = "someone",
            CreationDate = created,
            ExpirationDate = expires,
        };

    private static OutboxMessage Email(string subject, long? sentAt, long? gaveUpAt, long nextAttemptAt) => new()
    {
        To = "someone@example.com",
        Subject = subject,
        TextBody = "-",
        CreatedAt = DateTimeOffset.UtcNow.AddDays(-10),
        SentAt = sentAt,
        GaveUpAt = gaveUpAt,
        NextAttemptAt = nextAttemptAt,
    };
}
