using System.Net;
using System.Text.Json;
using AuthServer.ApiKeys;
using AuthServer.Data;
using AuthServer.Tests.Infrastructure;
using AuthServer.Tests.PlatformApi;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.ApiKeys;

/// <summary>The documented path: sign up, create a key on the dashboard, call <c>GET /v1/models</c> with it.</summary>
public sealed class ApiKeyTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    [Fact]
    public async Task Key_CreatedOnDashboard_CallsModelsAndProfile()
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var key = await Dashboard.CreateKeyAsync(browser);
        using var api = factory.CreateApiClient();

        using var models = await Dashboard.CallAsync(api, "/v1/models", key);
        using var profile = await Dashboard.CallAsync(api, "/v1/user/profile", key);

        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
        Assert.Equal("application/json", models.Content.Headers.ContentType?.MediaType);
        var body = await models.Content.ReadAsByteArrayAsync();
        Assert.Equal(body.Length, models.Content.Headers.ContentLength);
        using var list = JsonDocument.Parse(body);
        Assert.Equal("list", list.RootElement.GetProperty("object").GetString());
        var first = list.RootElement.GetProperty("data")[0];
        Assert.Equal("atlas-1", first.GetProperty("id").GetString());
        Assert.Equal("model", first.GetProperty("object").GetString());
        Assert.Equal(1767225600, first.GetProperty("created").GetInt64());
        Assert.Equal("platform", first.GetProperty("owned_by").GetString());

        Assert.Equal(HttpStatusCode.OK, profile.StatusCode);
        using var me = JsonDocument.Parse(await profile.Content.ReadAsStringAsync());
        Assert.Equal("Ada Lovelace", me.RootElement.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Key_IsShownOnceAndStoredOnlyAsHash()
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var key = await Dashboard.CreateKeyAsync(browser, "shown once");

        var (_, page) = await browser.GetPageAsync("/dashboard/keys");
        Assert.DoesNotContain(key, page.Body!.InnerHtml, StringComparison.Ordinal);
        var row = Assert.Single(page.QuerySelectorAll("tr[data-key-id]"), r => r.TextContent.Contains("shown once", StringComparison.Ordinal));
        Assert.Contains($"{key[..8]}…{key[^4..]}", row.TextContent, StringComparison.Ordinal);

        await using var scope = factory.Services.CreateAsyncScope();
        var stored = await scope.ServiceProvider.GetRequiredService<AuthDbContext>().ApiKeys
            .SingleAsync(k => k.Id == row.GetAttribute("data-key-id"));
        Assert.Equal(ApiKeyFormat.Hash(key), stored.Hash);
        Assert.DoesNotContain(key, JsonSerializer.Serialize(stored), StringComparison.Ordinal);
        Assert.Equal("read", stored.Scopes);
        Assert.InRange(stored.ExpiresAt!.Value - stored.CreatedAt, TimeSpan.FromDays(90) - TimeSpan.FromSeconds(1), TimeSpan.FromDays(90));
    }

    [Fact]
    public async Task Key_Revoked_FailsOnTheVeryNextRequest()
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var key = await Dashboard.CreateKeyAsync(browser, "to revoke");
        using var api = factory.CreateApiClient();
        Assert.Equal(HttpStatusCode.OK, (await Dashboard.CallAsync(api, "/v1/models", key)).StatusCode);

        var (_, page) = await browser.GetPageAsync("/dashboard/keys");
        var revoked = await browser.SubmitAsync(page, new Dictionary<string, string>(), "form.revoke");
        Assert.Equal(HttpStatusCode.Redirect, revoked.StatusCode);

        using var response = await Dashboard.CallAsync(api, "/v1/models", key);
        await ProfileEndpointTests.AssertErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_token");
        Assert.Contains("revoked", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_Malformed_Is401WithoutLookup()
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var key = await Dashboard.CreateKeyAsync(browser);
        var typo = key[..10] + (key[10] == 'x' ? 'y' : 'x') + key[11..];
        using var api = factory.CreateApiClient();

        using var typoResponse = await Dashboard.CallAsync(api, "/v1/models", typo);
        using var truncated = await Dashboard.CallAsync(api, "/v1/models", key[..^2]);

        await ProfileEndpointTests.AssertErrorAsync(typoResponse, HttpStatusCode.Unauthorized, "invalid_token");
        await ProfileEndpointTests.AssertErrorAsync(truncated, HttpStatusCode.Unauthorized, "invalid_token");
        Assert.Contains("malformed", await typoResponse.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_WellFormedButUnknown_Is401WithoutSayingWhetherItExists()
    {
        using var api = factory.CreateApiClient();

        using var response = await Dashboard.CallAsync(api, "/v1/models", ApiKeyFormat.Generate());

        await ProfileEndpointTests.AssertErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_token");
        Assert.Contains("The API key is not valid.", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_WithoutReadScope_Is403InsufficientScope()
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var key = await Dashboard.CreateKeyAsync(browser, "write only", ["write"]);
        using var api = factory.CreateApiClient();

        using var response = await Dashboard.CallAsync(api, "/v1/models", key);

        await ProfileEndpointTests.AssertErrorAsync(response, HttpStatusCode.Forbidden, "insufficient_scope");
        Assert.Contains("scope=\"read\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownV1Path_Is404_WithOrWithoutAKey_AndABadKeyIsStill401Nowhere()
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var key = await Dashboard.CreateKeyAsync(browser);
        using var api = factory.CreateApiClient();

        // The gate answers 401 only for an endpoint that requires a credential; a path that matches none is a 404.
        using var withKey = await Dashboard.CallAsync(api, "/v1/no-such-thing", key);
        using var anonymous = await api.GetAsync("/v1/no-such-thing");
        using var badKey = await Dashboard.CallAsync(api, "/v1/no-such-thing", "aip_0000000000000000000000000000000000000");

        Assert.Equal(HttpStatusCode.NotFound, withKey.StatusCode);
        Assert.True(withKey.Headers.Contains("X-RateLimit-Limit"), "an authenticated call is charged, found or not");
        Assert.Equal(HttpStatusCode.NotFound, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, badKey.StatusCode);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(-1)]
    [InlineData(0)]
    public async Task Create_LifetimeOutOfBounds_IsRefusedOnThePage(int days)
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Dashboard.CreateKeyAsync(browser, "bad", lifetimeDays: days));

        Assert.Contains(days == 0 ? "never expire" : "between 1 and 365", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_UnknownScope_IsRefusedOnThePage()
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Dashboard.CreateKeyAsync(browser, "bad", ["admin"]));

        Assert.Contains("Unknown scope", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dashboard_Anonymous_RedirectsToSignIn()
    {
        using var browser = factory.CreateBrowser();

        var response = await browser.Http.GetAsync("/dashboard/keys");

        Assert.Equal("/account/login", TestBrowser.Location(response).AbsolutePath);
    }

    [Fact]
    public async Task Dashboard_OtherUsersKeys_CannotBeRevoked()
    {
        using var owner = await OAuthFlow.SignedUpBrowserAsync(factory);
        var key = await Dashboard.CreateKeyAsync(owner, "mine");
        var (_, page) = await owner.GetPageAsync("/dashboard/keys");
        var keyId = page.QuerySelector("tr[data-key-id]")!.GetAttribute("data-key-id")!;

        using var attacker = await OAuthFlow.SignedUpBrowserAsync(factory);
        var (_, attackerPage) = await attacker.GetPageAsync("/dashboard/keys");
        var token = attackerPage.QuerySelector("input[name=__RequestVerificationToken]")!.GetAttribute("value")!;
        var response = await attacker.Http.PostAsync($"/dashboard/keys?handler=Revoke&id={keyId}", new FormUrlEncodedContent(
            new Dictionary<string, string> { ["__RequestVerificationToken"] = token }));

        Assert.Contains("No such key", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var api = factory.CreateApiClient();
        Assert.Equal(HttpStatusCode.OK, (await Dashboard.CallAsync(api, "/v1/models", key)).StatusCode);
    }

    [Fact]
    public async Task LastUsed_IsRecordedInBatchesNotPerRequest()
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var key = await Dashboard.CreateKeyAsync(browser, "used");
        using var api = factory.CreateApiClient();
        var hash = ApiKeyFormat.Hash(key);

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await Dashboard.CallAsync(api, "/v1/models", key)).StatusCode);
        }

        await using var scope = factory.Services.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
        var recorder = factory.Services.GetRequiredService<ApiKeyUsageRecorder>();
        Assert.Null((await context.ApiKeys.AsNoTracking().SingleAsync(k => k.Hash == hash)).LastUsedAt);

        await recorder.FlushAsync(CancellationToken.None);

        Assert.NotNull((await context.ApiKeys.AsNoTracking().SingleAsync(k => k.Hash == hash)).LastUsedAt);
    }

    [Fact]
    public async Task Audit_CreateRollRevoke_AreRecorded()
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        await Dashboard.CreateKeyAsync(browser, "audited");
        var (_, page) = await browser.GetPageAsync("/dashboard/keys");
        var keyId = page.QuerySelector("tr[data-key-id]")!.GetAttribute("data-key-id")!;
        var rolled = await browser.SubmitAsync(page, new Dictionary<string, string> { ["graceHours"] = "0" }, "form.roll");
        var (_, afterRoll) = await browser.ParseAsync(rolled);
        Assert.NotNull(afterRoll.QuerySelector("#new-key"));
        var (_, list) = await browser.GetPageAsync("/dashboard/keys");
        await browser.SubmitAsync(list, new Dictionary<string, string>(), "tr[data-status=active] form.revoke");

        await using var scope = factory.Services.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
        var ownerId = (await context.ApiKeys.SingleAsync(k => k.Id == keyId)).OwnerId;
        var actions = await context.AuditEvents.Where(e => e.AccountId == ownerId).Select(e => e.Action).ToListAsync();
        Assert.Equal(2, actions.Count(a => a == "api_key.created") + actions.Count(a => a == "api_key.rolled"));
        Assert.Contains("api_key.revoked", actions);
    }
}

/// <summary>Time-dependent behaviour, on a server that does not cache keys (so a changed row is seen at once).</summary>
public sealed class ApiKeyLifecycleTests
{
    private static ConfiguredAuthServerFactory NewFactory(string? path = null) => new(path ?? TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
    {
        ["Caching:ApiKeys"] = "00:00:00",
    });

    [Fact]
    public async Task Key_Expired_Is401AndTheUseIsAudited()
    {
        await using var factory = NewFactory();
        var key = await ExpiredKeyAsync(factory);
        using var api = factory.CreateApiClient();

        using var response = await Dashboard.CallAsync(api, "/v1/models", key);

        await ProfileEndpointTests.AssertErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_token");
        Assert.Contains("expired", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await using var scope = factory.Services.CreateAsyncScope();
        Assert.True(await scope.ServiceProvider.GetRequiredService<AuthDbContext>().AuditEvents.AnyAsync(e => e.Action == "api_key.expired_use"));
    }

    [Fact]
    public async Task Key_Expired_WhenTheAuditWriteIsRefused_IsStill401()
    {
        await using var factory = NewFactory();
        var key = await ExpiredKeyAsync(factory);
        using var api = factory.CreateApiClient();

        // The database itself refuses the audit row.
        await using var refused = await TestDatabase.RefuseInsertsAsync(factory.DatabasePath, "AuditEvents");
        using var response = await Dashboard.CallAsync(api, "/v1/models", key);

        await ProfileEndpointTests.AssertErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_token");
    }

    [Fact]
    public async Task Key_ExpiringWithin14Days_IsFlaggedOnTheDashboard()
    {
        await using var factory = NewFactory();
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        await Dashboard.CreateKeyAsync(browser, "short", lifetimeDays: 7);
        await Dashboard.CreateKeyAsync(browser, "long", lifetimeDays: 90);

        var (_, page) = await browser.GetPageAsync("/dashboard/keys");

        var rows = page.QuerySelectorAll("tr[data-key-id]").ToDictionary(r => r.QuerySelector("td")!.TextContent, r => r);
        Assert.NotNull(rows["short"].QuerySelector(".badge.expiring"));
        Assert.Null(rows["long"].QuerySelector(".badge.expiring"));
    }

    [Fact]
    public async Task Roll_WithGrace_OldKeyWorksUntilTheGraceEndsThenStops()
    {
        await using var factory = NewFactory();
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var old = await Dashboard.CreateKeyAsync(browser, "rolled", ["read", "write"]);
        var (_, page) = await browser.GetPageAsync("/dashboard/keys");

        var rolled = await browser.SubmitAsync(page, new Dictionary<string, string> { ["graceHours"] = "24" }, "form.roll");
        var (_, result) = await browser.ParseAsync(rolled);
        var replacement = result.QuerySelector("#new-key")!.TextContent;
        using var api = factory.CreateApiClient();

        // Both work during the grace period, and the new key has the same name and scopes.
        Assert.Equal(HttpStatusCode.OK, (await Dashboard.CallAsync(api, "/v1/models", old)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Dashboard.CallAsync(api, "/v1/models", replacement)).StatusCode);
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var keys = scope.ServiceProvider.GetRequiredService<AuthDbContext>().ApiKeys;
            var oldRow = await keys.SingleAsync(k => k.Hash == ApiKeyFormat.Hash(old));
            var newRow = await keys.SingleAsync(k => k.Hash == ApiKeyFormat.Hash(replacement));
            Assert.Equal((oldRow.Name, oldRow.Scopes), (newRow.Name, newRow.Scopes));
            Assert.Equal(newRow.Id, oldRow.ReplacedById);
            Assert.InRange(oldRow.ExpiresAt!.Value - DateTimeOffset.UtcNow, TimeSpan.FromHours(23.9), TimeSpan.FromHours(24));
        }

        // When the grace period is over, the old key stops; the new one goes on.
        await SetExpiryAsync(factory, old, DateTimeOffset.UtcNow.AddSeconds(-1));
        Assert.Equal(HttpStatusCode.Unauthorized, (await Dashboard.CallAsync(api, "/v1/models", old)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Dashboard.CallAsync(api, "/v1/models", replacement)).StatusCode);
    }

    [Fact]
    public async Task Roll_WithoutGrace_OldKeyStopsAtOnce()
    {
        await using var factory = NewFactory();
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var old = await Dashboard.CreateKeyAsync(browser, "rolled now");
        var (_, page) = await browser.GetPageAsync("/dashboard/keys");

        var rolled = await browser.SubmitAsync(page, new Dictionary<string, string> { ["graceHours"] = "0" }, "form.roll");
        var (_, result) = await browser.ParseAsync(rolled);
        using var api = factory.CreateApiClient();

        Assert.Equal(HttpStatusCode.Unauthorized, (await Dashboard.CallAsync(api, "/v1/models", old)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Dashboard.CallAsync(api, "/v1/models", result.QuerySelector("#new-key")!.TextContent)).StatusCode);
    }

    [Fact]
    public async Task Roll_GraceLongerThanSevenDays_IsRefused()
    {
        await using var factory = NewFactory();
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        await Dashboard.CreateKeyAsync(browser, "greedy");
        var (_, page) = await browser.GetPageAsync("/dashboard/keys");

        var rolled = await browser.SubmitAsync(page, new Dictionary<string, string> { ["graceHours"] = "200" }, "form.roll");

        Assert.Contains("grace period", await rolled.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_DatabaseUnreachable_Is503NeverA401OrA200()
    {
        var path = TestDatabase.NewSqlitePath();
        await using var factory = NewFactory(path);
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var key = await Dashboard.CreateKeyAsync(browser);
        using var api = factory.CreateApiClient();
        Assert.Equal(HttpStatusCode.OK, (await Dashboard.CallAsync(api, "/v1/models", key)).StatusCode);

        // The database goes away (a lost volume: the SQLite file opens with no tables; PostgreSQL refuses connections).
        await using (await TestDatabase.TakeAwayAsync(path))
        {
            using var response = await Dashboard.CallAsync(api, "/v1/models", key);

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.NotNull(response.Headers.RetryAfter);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("service_unavailable", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        }

        // And it recovers once the database is back.
        Assert.Equal(HttpStatusCode.OK, (await Dashboard.CallAsync(api, "/v1/models", key)).StatusCode);
    }

    /// <summary>A developer's key, created on the dashboard, that expired a minute ago.</summary>
    private static async Task<string> ExpiredKeyAsync(ConfiguredAuthServerFactory factory)
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var key = await Dashboard.CreateKeyAsync(browser, "expiring", lifetimeDays: 7);
        await SetExpiryAsync(factory, key, DateTimeOffset.UtcNow.AddMinutes(-1));
        return key;
    }

    private static async Task SetExpiryAsync(ConfiguredAuthServerFactory factory, string key, DateTimeOffset expiresAt)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
        var row = await context.ApiKeys.SingleAsync(k => k.Hash == ApiKeyFormat.Hash(key));
        row.ExpiresAt = expiresAt;
        await context.SaveChangesAsync();
    }
}
