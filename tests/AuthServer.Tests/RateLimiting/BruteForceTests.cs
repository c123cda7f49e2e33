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
        // A server of its own: the address's token failures are what this test counts.
        await using var server = new StrictServer();
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
    public async Task TokenEndpoint_InvalidGrantToAnAuthenticatedClient_DoesNotCount()
    {
        // A server of its own: the address's token failures are what this test counts.
        await using var server = new StrictServer();
        var service = await server.RegisterServiceAsync("read");
        var app = await server.RegisterClientAsync();
        using var api = server.CreateApiClient();
        for (var i = 0; i < 10; i++)
        {
            var refused = await OAuthFlow.RefreshAsync(api, app, "not-a-refresh-token");
            Assert.Equal("invalid_grant", refused.Error);
        }

        Assert.Equal(HttpStatusCode.OK, (await OAuthFlow.TokenAsync(api, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials" })).Status);
    }

    [Fact]
    public async Task TokenEndpoint_AtDefaultLimits_AHundredInvalidGrants_LockOutNoOne_ThirtyOneFailedAuthentications_Do()
    {
        // Default limits (30 failed authentications a minute), on a server of its own: one address, as behind a NAT.
        await using var server = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath());
        var service = await server.RegisterServiceAsync("read");
        var other = await server.RegisterServiceAsync("read");
        using var api = server.CreateApiClient();
        var grant = new Dictionary<string, string> { ["grant_type"] = "client_credentials" };
        for (var i = 0; i < 100; i++)
        {
            var refused = await OAuthFlow.TokenAsync(api, service, new Dictionary<string, string>
            {
                ["grant_type"] = "refresh_token",
                ["refresh_token"] = $"lost-race-{i}",
            });
            Assert.Equal("invalid_grant", refused.Error);
        }

        Assert.Equal(HttpStatusCode.OK, (await OAuthFlow.TokenAsync(api, service, grant)).Status);
        Assert.Equal(HttpStatusCode.OK, (await OAuthFlow.TokenAsync(api, other, grant)).Status);

        // Failed authentications count: a wrong secret, and a request that names no client at all.
        for (var i = 0; i < 30; i++)
        {
            var failed = i % 2 == 0
                ? await OAuthFlow.TokenAsync(api, service, new Dictionary<string, string>(grant), secretOverride: "not-the-secret")
                : await AnonymousAsync(api, grant);
            Assert.True(failed.Error is "invalid_client" or "invalid_request", failed.Body.ToString());
        }

        var blocked = await OAuthFlow.TokenAsync(api, other, new Dictionary<string, string>(grant), secretOverride: "not-the-secret");
        Assert.Equal(HttpStatusCode.TooManyRequests, blocked.Status);
        Assert.Equal("rate_limit_exceeded", blocked.Error);
    }

    private static async Task<TokenResponse> AnonymousAsync(HttpClient api, IDictionary<string, string> form)
    {
        using var response = await api.PostAsync("/oauth/token", new FormUrlEncodedContent(form));
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return new TokenResponse(response.StatusCode, document.RootElement.Clone());
    }

    [Fact]
    public async Task Introspection_FailedClientAuthentications_CountTowardTheLimit()
    {
        // A server of its own: the address's token failures are what this test counts.
        await using var server = new StrictServer();
        var service = await server.RegisterServiceAsync("read");
        var wrong = service with { ClientSecret = "not-the-secret" };
        using var api = server.CreateApiClient();
        foreach (var token in new[] { "some-token", ApiKeyFormat.Generate(), "another-token" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/introspect")
            {
                Headers = { Authorization = OAuthFlow.Basic(wrong) },
                Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
            };
            using var refused = await api.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        var blocked = await OAuthFlow.TokenAsync(api, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials" });

        Assert.Equal(HttpStatusCode.TooManyRequests, blocked.Status);
    }

    [Fact]
    public async Task SignIn_AfterThreeFailuresForOneAccount_ItAnswers429_ButAnotherAccountAtTheAddressSignsIn()
    {
        var target = OAuthFlow.NewEmail();
        var neighbour = OAuthFlow.NewEmail();
        (await OAuthFlow.SignedUpBrowserAsync(server, target)).Dispose();
        (await OAuthFlow.SignedUpBrowserAsync(server, neighbour)).Dispose();
        using var browser = server.CreateBrowser();
        for (var i = 0; i < 3; i++)
        {
            var failed = await browser.SignInAsync(target, "wrong password");
            Assert.Equal(HttpStatusCode.OK, failed.StatusCode);
        }

        var blocked = await browser.SignInAsync(target, OAuthFlow.Password);
        var other = await browser.SignInAsync(neighbour, OAuthFlow.Password);

        Assert.Equal(HttpStatusCode.TooManyRequests, blocked.StatusCode);
        Assert.NotNull(blocked.Headers.RetryAfter);
        Assert.Contains("Too many failed sign-ins", await blocked.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, other.StatusCode);
    }
}

/// <summary>Sign-in failures are counted in one atomic step with the check: concurrent guesses cannot pass the limit.</summary>
public sealed class ConcurrentSignInTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    [Fact]
    public async Task FortyBadSignInsAtOnce_ExactlyTheLimitGetThrough_AndAnotherAccountStillSignsIn()
    {
        var target = OAuthFlow.NewEmail();
        var neighbour = OAuthFlow.NewEmail();
        (await OAuthFlow.SignedUpBrowserAsync(factory, target)).Dispose();
        (await OAuthFlow.SignedUpBrowserAsync(factory, neighbour)).Dispose();
        using var browser = factory.CreateBrowser();
        var (_, page) = await browser.GetPageAsync("/account/login");
        var token = page.QuerySelector("input[name=__RequestVerificationToken]")!.GetAttribute("value")!;

        var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => browser.Http.PostAsync("/account/login", new FormUrlEncodedContent(
            new Dictionary<string, string>
            {
                ["__RequestVerificationToken"] = token,
                ["Input.Email"] = target,
                ["Input.Password"] = "wrong password " + i,
            }))));

        Assert.Equal(20, answers.Count(answer => answer.StatusCode != HttpStatusCode.TooManyRequests));
        Assert.Equal(HttpStatusCode.Redirect, (await browser.SignInAsync(neighbour, OAuthFlow.Password)).StatusCode);
    }
}
