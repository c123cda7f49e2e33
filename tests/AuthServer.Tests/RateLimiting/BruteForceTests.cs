using System.Net;
using System.Text.Json;
using AuthServer.ApiKeys;
using AuthServer.Tests.Infrastructure;

namespace AuthServer.Tests.RateLimiting;

/// <summary>A server that tolerates three failures a minute from one client IP, for each kind of failure.</summary>
public sealed class StrictServer() : AuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
{
    ["RateLimits:KeyFailuresPerMinute"] = "3",
    ["RateLimits:TokenFailuresPerMinute"] = "3",
    ["RateLimits:SignInFailuresPerMinute"] = "3",
});

/// <summary>Per-client-IP limits on failures: guessing keys, secrets or passwords is slowed down at the address.</summary>
public sealed class BruteForceTests(StrictServer server) : IClassFixture<StrictServer>
{
    [Fact]
    public async Task KeyGuessing_AfterThreeFailures_TheAddressGets429_EvenWithAGoodKey()
    {
        using var account = await TestAccount.CreateAsync(server);
        using var api = server.CreateApiClient();

        for (var i = 0; i < 3; i++)
        {
            using var guess = await Dashboard.CallAsync(api, "/v1/models", ApiKeyFormat.Generate());
            Assert.Equal(HttpStatusCode.Unauthorized, guess.StatusCode);
        }

        using var blocked = await Dashboard.CallAsync(api, "/v1/models", ApiKeyFormat.Generate());
        using var good = await Dashboard.CallAsync(api, "/v1/models", account.Key);

        Assert.Equal(HttpStatusCode.TooManyRequests, blocked.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, good.StatusCode);
        Assert.InRange(Calls.IntHeader(blocked, "Retry-After"), 1, 60);
        using var body = JsonDocument.Parse(await blocked.Content.ReadAsStringAsync());
        Assert.Equal("rate_limit_exceeded", body.RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task TokenEndpoint_AfterThreeFailedRequests_Gets429_SuccessesDoNotCount()
    {
        var service = await server.RegisterServiceAsync("read");
        using var api = server.CreateApiClient();
        var grant = new Dictionary<string, string> { ["grant_type"] = "client_credentials" };
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await OAuthFlow.TokenAsync(api, service, grant)).Status);
        }

        var wrong = service with { ClientSecret = "not-the-secret" };
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await OAuthFlow.TokenAsync(api, wrong, grant)).Status);
        }

        var blocked = await OAuthFlow.TokenAsync(api, service, grant);

        Assert.Equal(HttpStatusCode.TooManyRequests, blocked.Status);
        Assert.Equal("rate_limit_exceeded", blocked.Error);
    }

    [Fact]
    public async Task SignIn_AfterThreeFailuresAcrossAccounts_TheFormAnswers429()
    {
        using var browser = server.CreateBrowser();
        for (var i = 0; i < 3; i++)
        {
            var failed = await browser.SignInAsync(OAuthFlow.NewEmail(), "wrong password");
            Assert.Equal(HttpStatusCode.OK, failed.StatusCode);
        }

        var blocked = await browser.SignInAsync(OAuthFlow.NewEmail(), "wrong password");

        Assert.Equal(HttpStatusCode.TooManyRequests, blocked.StatusCode);
        Assert.NotNull(blocked.Headers.RetryAfter);
        Assert.Contains("Too many failed sign-ins", await blocked.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
