using System.Net;
using System.Net.Http.Headers;
using AuthServer.ApiKeys;
using AuthServer.Data;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.RateLimiting;

/// <summary>Two server nodes on loopback ports, one database and one Redis: the nodes of a small deployment.</summary>
public sealed class TwoNodes : IAsyncLifetime
{
    public const int KeyFailuresPerMinute = 6;

    public RedisServer Redis { get; } = new();

    // Each asks SuiteDatabase first: in the PostgreSQL suite without PostgreSQL, no node starts and the test skips.
    public ConfiguredAuthServerFactory? A { get => Started(field); private set; }

    public ConfiguredAuthServerFactory? B { get => Started(field); private set; }

    public HttpClient? ApiA { get => Started(field); private set; }

    public HttpClient? ApiB { get => Started(field); private set; }

    private static T? Started<T>(T? node)
    {
        SuiteDatabase.SkipIfUnavailable();
        return node;
    }

    public async ValueTask InitializeAsync()
    {
        if (SuiteDatabase.Unavailable)
        {
            return;
        }

        await Redis.InitializeAsync();
        if (Redis.SkipReason is not null)
        {
            return;
        }

        var path = TestDatabase.NewSqlitePath();
        var settings = new Dictionary<string, string?>(RateLimitedServer.Settings)
        {
            ["RateLimits:Redis"] = Redis.ConnectionString,
            ["RateLimits:KeyFailuresPerMinute"] = KeyFailuresPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture),

            // The tests come from loopback, trusted as a proxy: X-Forwarded-For gives a test a client address of its own.
            ["Transport:UseForwardedHeaders"] = "true",
        };
        (A, ApiA) = Start(path, settings);
        (B, ApiB) = Start(path, settings);
    }

    private static (ConfiguredAuthServerFactory, HttpClient) Start(string path, Dictionary<string, string?> settings)
    {
        var node = new ConfiguredAuthServerFactory(path, settings);
        node.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        node.StartServer();
        var address = node.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (node, new HttpClient { BaseAddress = new Uri(address) });
    }

    /// <summary>A new account with a key, made through node A's services.</summary>
    public async Task<string> NewKeyAsync()
    {
        await using var scope = A!.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        var user = new ApplicationUser { UserName = OAuthFlow.NewEmail(), Email = OAuthFlow.NewEmail() };
        Assert.True((await users.CreateAsync(user, OAuthFlow.Password)).Succeeded);
        var key = await scope.ServiceProvider.GetRequiredService<ApiKeyService>()
            .CreateAsync(user.Id, "multi-node", ["read"], null, user.Id, CancellationToken.None);
        return key.Secret;
    }

    public async ValueTask DisposeAsync()
    {
        if (SuiteDatabase.Unavailable)
        {
            return;
        }

        ApiA?.Dispose();
        ApiB?.Dispose();
        if (A is not null)
        {
            await A.DisposeAsync();
        }

        if (B is not null)
        {
            await B.DisposeAsync();
        }

        await Redis.DisposeAsync();
    }
}

/// <summary>With <c>RateLimits:Redis</c> set, N nodes enforce one limit together, and survive Redis going away.</summary>
public sealed class MultiNodeTests(TwoNodes nodes) : IClassFixture<TwoNodes>
{
    [Fact]
    public async Task Limit_HoldsAcrossTwoNodes()
    {
        Assert.SkipUnless(nodes.Redis.SkipReason is null, nodes.Redis.SkipReason ?? "");
        var key = await nodes.NewKeyAsync();

        var responses = new List<HttpResponseMessage>();
        for (var i = 0; i < RateLimitedServer.Free + 4; i++)
        {
            responses.Add(await CallAsync(i % 2 == 0 ? nodes.ApiA! : nodes.ApiB!, key));
        }

        Assert.Equal(RateLimitedServer.Free, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.All(responses.Skip(RateLimitedServer.Free), r => Assert.Equal(HttpStatusCode.TooManyRequests, r.StatusCode));
        Assert.Equal(RateLimitedServer.Free - 2, Calls.IntHeader(responses[1], "X-RateLimit-Remaining"));
    }

    [Fact]
    public async Task FailureLimits_AreCountedAcrossNodes()
    {
        Assert.SkipUnless(nodes.Redis.SkipReason is null, nodes.Redis.SkipReason ?? "");
        var key = await nodes.NewKeyAsync();
        const string Guesser = "198.51.100.23";

        // Half the allowed failures on each node: under the limit on either alone, at it together.
        for (var i = 0; i < TwoNodes.KeyFailuresPerMinute; i++)
        {
            var guess = await CallAsync(i % 2 == 0 ? nodes.ApiA! : nodes.ApiB!, "aip_" + Guid.NewGuid().ToString("N"), Guesser);
            Assert.Equal(HttpStatusCode.Unauthorized, guess.StatusCode);
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, (await CallAsync(nodes.ApiA!, key, Guesser)).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await CallAsync(nodes.ApiB!, key, Guesser)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(nodes.ApiB!, key, "198.51.100.24")).StatusCode);
    }

    [Fact]
    public async Task RedisDown_NodesServeOnTheirOwnLimits_ReportDegraded_AndShareAgainWhenItIsBack()
    {
        Assert.SkipUnless(nodes.Redis.SkipReason is null, nodes.Redis.SkipReason ?? "");
        var key = await nodes.NewKeyAsync();
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(nodes.ApiA!, key)).StatusCode);

        await nodes.Redis.StopAsync();
        try
        {
            // Each node now counts for itself: the API keeps answering, never 5xx.
            foreach (var api in new[] { nodes.ApiA!, nodes.ApiB! })
            {
                var local = new List<HttpResponseMessage>();
                for (var i = 0; i < RateLimitedServer.Free + 1; i++)
                {
                    local.Add(await CallAsync(api, key));
                }

                Assert.Equal(RateLimitedServer.Free, local.Count(r => r.StatusCode == HttpStatusCode.OK));
                Assert.Equal(HttpStatusCode.TooManyRequests, local[^1].StatusCode);
            }

            var health = await nodes.ApiA!.GetStringAsync("/readyz");
            Assert.Equal("Degraded", health);
        }
        finally
        {
            await nodes.Redis.StartAsync();
        }

        await WaitUntilHealthyAsync(nodes.ApiA!);
        await WaitUntilHealthyAsync(nodes.ApiB!);
        var fresh = await nodes.NewKeyAsync();
        var shared = new List<HttpResponseMessage>();
        for (var i = 0; i < RateLimitedServer.Free + 2; i++)
        {
            shared.Add(await CallAsync(i % 2 == 0 ? nodes.ApiA! : nodes.ApiB!, fresh));
        }

        Assert.Equal(RateLimitedServer.Free, shared.Count(r => r.StatusCode == HttpStatusCode.OK));
    }

    [Fact]
    public async Task RedisUnreachableAtStart_TheNodeStillServes_OnItsOwnLimit_AndSaysDegraded()
    {
        var closedPort = ServerProcessPort();
        await using var node = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>(RateLimitedServer.Settings)
        {
            ["RateLimits:Redis"] = $"127.0.0.1:{closedPort}",
        });
        using var account = await TestAccount.CreateAsync(node);
        using var api = node.CreateApiClient();

        var responses = await Calls.ManyAsync(api, account.Key, RateLimitedServer.Free + 1);

        Assert.Equal(RateLimitedServer.Free, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(HttpStatusCode.TooManyRequests, responses[^1].StatusCode);
        Assert.Equal("Degraded", await api.GetStringAsync("/readyz"));
    }

    private static int ServerProcessPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitUntilHealthyAsync(HttpClient api)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            if (await api.GetStringAsync("/readyz") == "Healthy")
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, "The node did not return to the shared limit within 20 s of Redis coming back.");
            await Task.Delay(200);
        }
    }

    private static async Task<HttpResponseMessage> CallAsync(HttpClient api, string key, string? clientAddress = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (clientAddress is not null)
        {
            request.Headers.Add("X-Forwarded-For", clientAddress);
            request.Headers.Add("X-Forwarded-Proto", "https");
        }

        return await api.SendAsync(request);
    }
}
