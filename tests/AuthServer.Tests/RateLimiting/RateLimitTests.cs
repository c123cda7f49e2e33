using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthServer.ApiKeys;
using AuthServer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.RateLimiting;

/// <summary>Limits by tier on <c>/v1</c>, charged to the paying account, as a developer meets them.</summary>
public sealed class RateLimitTests(RateLimitedServer server) : IClassFixture<RateLimitedServer>
{
    [Fact]
    public async Task Burst_LimitPlusFive_ExactlyTheLimitPasses_TheRestGet429WithRetryAfterAndJson()
    {
        using var account = await TestAccount.CreateAsync(server);
        using var api = server.CreateApiClient();

        var responses = await Calls.ManyAsync(api, account.Key, RateLimitedServer.Free + 5);

        Assert.Equal(RateLimitedServer.Free, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.All(responses.Take(RateLimitedServer.Free), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        foreach (var rejected in responses.Skip(RateLimitedServer.Free))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, rejected.StatusCode);
            Assert.InRange(Calls.IntHeader(rejected, "Retry-After"), 1, 60);
            using var body = JsonDocument.Parse(await rejected.Content.ReadAsStringAsync());
            Assert.Equal("rate_limit_exceeded", body.RootElement.GetProperty("error").GetProperty("type").GetString());
            Assert.Contains("10 requests per minute", body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task EveryResponse_CarriesTheRateLimitHeaders_RemainingCountsDown()
    {
        using var account = await TestAccount.CreateAsync(server);
        using var api = server.CreateApiClient();

        var responses = await Calls.ManyAsync(api, account.Key, RateLimitedServer.Free + 1);

        for (var i = 0; i < responses.Count; i++)
        {
            Assert.Equal(RateLimitedServer.Free, Calls.IntHeader(responses[i], "X-RateLimit-Limit"));
            Assert.Equal(Math.Max(0, RateLimitedServer.Free - i - 1), Calls.IntHeader(responses[i], "X-RateLimit-Remaining"));
            Assert.InRange(Calls.IntHeader(responses[i], "X-RateLimit-Reset"), 1, 60);
        }
    }

    [Fact]
    public async Task Forbidden_CarriesHeaders_AndCountsAgainstTheLimit()
    {
        using var account = await TestAccount.CreateAsync(server, scopes: ["write"]);
        using var api = server.CreateApiClient();

        using var forbidden = await Dashboard.CallAsync(api, "/v1/models", account.Key);

        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal(RateLimitedServer.Free - 1, Calls.IntHeader(forbidden, "X-RateLimit-Remaining"));
    }

    [Fact]
    public async Task TwoKeysOfOneAccount_ShareTheAccountsLimit()
    {
        using var account = await TestAccount.CreateAsync(server);
        var second = await Dashboard.CreateKeyAsync(account.Browser, "second key");
        using var api = server.CreateApiClient();

        var first = await Calls.ManyAsync(api, account.Key, 6);
        var then = await Calls.ManyAsync(api, second, 6);

        Assert.Equal(RateLimitedServer.Free, first.Concat(then).Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(HttpStatusCode.TooManyRequests, then[^1].StatusCode);
    }

    [Fact]
    public async Task TierChange_ToPro_RaisesTheLimitAtOnce_AndEnterpriseUsesItsOwn()
    {
        using var account = await TestAccount.CreateAsync(server);
        using var api = server.CreateApiClient();
        using var admin = await server.CreateAdminClientAsync();
        Assert.Equal(RateLimitedServer.Free, (await Calls.ManyAsync(api, account.Key, 12)).Count(r => r.IsSuccessStatusCode));

        using var pro = await admin.PutAsJsonAsync($"/admin/accounts/{account.Id}/tier", new { tier = "pro" });
        Assert.Equal(HttpStatusCode.OK, pro.StatusCode);
        var afterUpgrade = await Calls.ManyAsync(api, account.Key, 12);

        Assert.Equal(RateLimitedServer.Pro - RateLimitedServer.Free, afterUpgrade.Count(r => r.IsSuccessStatusCode));
        Assert.Equal(RateLimitedServer.Pro, Calls.IntHeader(afterUpgrade[0], "X-RateLimit-Limit"));

        using var enterprise = await admin.PutAsJsonAsync($"/admin/accounts/{account.Id}/tier", new { tier = "enterprise", requests_per_minute = 25 });
        Assert.Equal(HttpStatusCode.OK, enterprise.StatusCode);
        var afterEnterprise = await Calls.ManyAsync(api, account.Key, 6);
        Assert.Equal(5, afterEnterprise.Count(r => r.IsSuccessStatusCode));
        Assert.Equal(25, Calls.IntHeader(afterEnterprise[0], "X-RateLimit-Limit"));
    }

    [Fact]
    public async Task AccessToken_OfADevelopersApp_IsChargedToTheDeveloper()
    {
        using var developer = await TestAccount.CreateAsync(server);
        var token = await developer.TokenOfOwnAppAsync(server);
        using var api = server.CreateApiClient();

        var byToken = await Calls.ManyAsync(api, token, 4);
        var byKey = await Calls.ManyAsync(api, developer.Key, RateLimitedServer.Free);

        Assert.All(byToken, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(RateLimitedServer.Free - 4, byKey.Count(r => r.IsSuccessStatusCode));
        using var afterwards = await Dashboard.CallAsync(api, "/v1/models", token);
        Assert.Equal(HttpStatusCode.TooManyRequests, afterwards.StatusCode);
    }

    [Fact]
    public async Task AdminRegisteredClient_CarriesItsOwnTier_SetThroughTheAdminApi()
    {
        var service = await server.RegisterServiceAsync("read");
        using var api = server.CreateApiClient();
        var token = (await OAuthFlow.TokenAsync(api, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials" })).AccessToken;
        Assert.Equal(RateLimitedServer.Free, (await Calls.ManyAsync(api, token, 11)).Count(r => r.IsSuccessStatusCode));

        using var admin = await server.CreateAdminClientAsync();
        using var set = await admin.PutAsJsonAsync($"/admin/clients/{service.ClientId}/tier", new { tier = "pro" });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);

        var afterUpgrade = await Calls.ManyAsync(api, token, 11);
        Assert.Equal(RateLimitedServer.Pro - RateLimitedServer.Free, afterUpgrade.Count(r => r.IsSuccessStatusCode));
        Assert.Equal(RateLimitedServer.Pro, Calls.IntHeader(afterUpgrade[0], "X-RateLimit-Limit"));
    }

    [Fact]
    public async Task ClientTier_OfADevelopersApp_IsRefused_UnknownClientIs404()
    {
        using var developer = await TestAccount.CreateAsync(server);
        await using var scope = server.Services.CreateAsyncScope();
        var app = await scope.ServiceProvider.GetRequiredService<AuthServer.Clients.DeveloperApps>()
            .CreateAsync(developer.Id, new AuthServer.Clients.DeveloperAppInput("Owned", [new Uri("https://app.example/callback")], IsPublic: false, ["openid", "profile", "offline_access", "read"], AuthServer.Core.AppLinks.None), CancellationToken.None);
        using var admin = await server.CreateAdminClientAsync();

        using var owned = await admin.PutAsJsonAsync($"/admin/clients/{app.ClientId}/tier", new { tier = "pro" });
        using var unknown = await admin.PutAsJsonAsync("/admin/clients/nobody/tier", new { tier = "pro" });
        using var invalid = await admin.PutAsJsonAsync($"/admin/clients/{app.ClientId}/tier", new { tier = "gold" });

        Assert.Equal(HttpStatusCode.Conflict, owned.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
    }

    [Fact]
    public async Task RejectedRequests_DoNoDatabaseWork()
    {
        using var account = await TestAccount.CreateAsync(server);
        using var api = server.CreateApiClient();
        await Calls.ManyAsync(api, account.Key, RateLimitedServer.Free);
        await server.Services.GetRequiredService<ApiKeyUsageRecorder>().FlushAsync(CancellationToken.None);

        using var commands = new CommandCounter(server.DatabasePath);
        var rejected = await Calls.ManyAsync(api, account.Key, 20);

        Assert.All(rejected, r => Assert.Equal(HttpStatusCode.TooManyRequests, r.StatusCode));
        Assert.Equal(0, commands.Count);

        // The counter does see this database: a key no node has cached is looked up.
        using var unknown = await Dashboard.CallAsync(api, "/v1/models", ApiKeyFormat.Generate());
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.True(commands.Count > 0);
    }

    [Fact]
    public async Task NoCredential_Gets401_WithoutRateLimitHeaders()
    {
        using var api = server.CreateApiClient();

        using var response = await api.GetAsync("/v1/models");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.False(response.Headers.Contains("X-RateLimit-Limit"));
    }
}
