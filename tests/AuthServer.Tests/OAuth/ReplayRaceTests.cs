using System.Net;
using System.Text.Json;
using AuthServer.Clients;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.OAuth;

/// <summary>Two server processes' worth of hosts on one database file, each on its own loopback port.</summary>
public sealed class TwoNodesOnOneFile : IAsyncLifetime
{
    private static readonly Dictionary<string, string?> Settings = new()
    {
        // No reuse leeway (the public-client rule for every client) and no remembered token status, so that what the
        // tests check right after a race is the database's state on both nodes.
        ["OAuth:RefreshTokenReuseLeeway"] = "00:00:00",
        ["Caching:TokenStatus"] = "00:00:00",
        ["RateLimits:TokenFailuresPerMinute"] = "100000",
        ["Email:PickupDirectory"] = Path.Combine(Path.GetTempPath(), "authserver-mail-" + Guid.NewGuid().ToString("N")),
    };

    // Each asks SuiteDatabase first: in the PostgreSQL suite without PostgreSQL, no node starts and the test skips.
    public ConfiguredAuthServerFactory A { get => Started(field); private set; } = null!;

    public ConfiguredAuthServerFactory B { get => Started(field); private set; } = null!;

    public Uri AddressA { get => Started(field); private set; } = null!;

    public Uri AddressB { get => Started(field); private set; } = null!;

    private static T Started<T>(T node)
    {
        SuiteDatabase.SkipIfUnavailable();
        return node;
    }

    /// <summary>A resource server that may introspect the platform's tokens (it is their audience).</summary>
    public RegisteredClient ResourceServer { get; private set; } = null!;

    public ValueTask InitializeAsync()
    {
        if (SuiteDatabase.Unavailable)
        {
            return ValueTask.CompletedTask;
        }

        var path = TestDatabase.NewSqlitePath();
        (A, AddressA) = Start(path);
        (B, AddressB) = Start(path);
        return InitializeResourceServerAsync();
    }

    private async ValueTask InitializeResourceServerAsync() =>
        ResourceServer = await A.RegisterAsync(new ClientRegistration(
            "Platform API", [], IsPublic: false, ["read"], GrantTypes: ["client_credentials"], ClientId: "platform-api"));

    private static (ConfiguredAuthServerFactory, Uri) Start(string path)
    {
        var node = new ConfiguredAuthServerFactory(path, Settings);
        node.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        node.StartServer();
        return (node, new Uri(node.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()));
    }

    public static HttpClient Api(Uri address) => new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = address };

    /// <summary>A browser on node A: cookies kept, redirects not followed.</summary>
    public TestBrowser Browser() => new(new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true }) { BaseAddress = AddressA })
    {
        Mailbox = A.Mailbox,
    };

    public async ValueTask DisposeAsync()
    {
        if (SuiteDatabase.Unavailable)
        {
            return;
        }

        await A.DisposeAsync();
        await B.DisposeAsync();
    }
}

/// <summary>
/// GHSA-46m5-h4wg-43f6 and GHSA-7rcv-637m-gmc3, on our token paths: concurrent uses of one code or one refresh token,
/// spread over two nodes of one database. At most one use succeeds, and since every other use is a replay, afterwards
/// no token of the family introspects active, refreshes, or works on <c>/v1</c>.
/// </summary>
public sealed class ReplayRaceTests(TwoNodesOnOneFile nodes) : IClassFixture<TwoNodesOnOneFile>
{
    private const string RedirectUri = "https://app.example/callback";
    private const int Rounds = 5;
    private const int Concurrent = 20;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ConcurrentRefreshes_OfOneToken_AtMostOneSucceeds_AndTheFamilyIsDead(bool isPublic)
    {
        for (var round = 0; round < Rounds; round++)
        {
            var (client, tokens) = await GrantAsync(isPublic);
            var family = new List<TokenResponse> { tokens };

            var answers = await RaceAsync(api => OAuthFlow.RefreshAsync(api, client, tokens.RefreshToken!));

            var won = answers.Where(answer => answer.Status == HttpStatusCode.OK).ToList();
            Assert.True(won.Count <= 1, $"Round {round}: {won.Count} refreshes of one token succeeded.");
            Assert.All(answers.Except(won), answer => Assert.Equal("invalid_grant", answer.Error));
            family.AddRange(won);
            await AssertDeadAsync(client, family);
        }
    }

    [Fact]
    public async Task ConcurrentRedemptions_OfOneCode_ExactlyOneSucceeds_AndItsTokensAreDead()
    {
        for (var round = 0; round < Rounds; round++)
        {
            using var browser = await SignedUpAsync();
            var client = await nodes.A.RegisterClientAsync(RedirectUri);
            var pkce = Pkce.Create();
            var code = await OAuthFlow.GetCodeAsync(browser, OAuthFlow.AuthorizeUrl(client.ClientId, RedirectUri, "openid offline_access read", pkce));

            var answers = await RaceAsync(api => OAuthFlow.RedeemAsync(api, client, code, pkce.Verifier));

            var won = Assert.Single(answers, answer => answer.Status == HttpStatusCode.OK);
            Assert.All(answers.Where(answer => answer != won), answer => Assert.Equal("invalid_grant", answer.Error));
            await AssertDeadAsync(client, [won]);
        }
    }

    /// <summary>Fires the same request <see cref="Concurrent"/> times at once, alternating between the nodes.</summary>
    private async Task<TokenResponse[]> RaceAsync(Func<HttpClient, Task<TokenResponse>> request)
    {
        using var a = TwoNodesOnOneFile.Api(nodes.AddressA);
        using var b = TwoNodesOnOneFile.Api(nodes.AddressB);
        using var start = new SemaphoreSlim(0);
        var racers = Enumerable.Range(0, Concurrent).Select(async i =>
        {
            await start.WaitAsync();
            return await request(i % 2 == 0 ? a : b);
        }).ToList();
        start.Release(Concurrent);
        return await Task.WhenAll(racers);
    }

    private async Task AssertDeadAsync(RegisteredClient client, IReadOnlyList<TokenResponse> family)
    {
        foreach (var address in new[] { nodes.AddressA, nodes.AddressB })
        {
            using var api = TwoNodesOnOneFile.Api(address);
            foreach (var tokens in family)
            {
                Assert.False(await ActiveAsync(api, tokens.AccessToken), $"An access token of the family is active on {address}.");
                using var call = await Dashboard.CallAsync(api, "/v1/models", tokens.AccessToken);
                Assert.Equal(HttpStatusCode.Unauthorized, call.StatusCode);
            }
        }

        using var refresher = TwoNodesOnOneFile.Api(nodes.AddressB);
        foreach (var tokens in family.Skip(1))
        {
            Assert.Equal("invalid_grant", (await OAuthFlow.RefreshAsync(refresher, client, tokens.RefreshToken!)).Error);
        }
    }

    private async Task<bool> ActiveAsync(HttpClient api, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/introspect")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        request.Headers.Authorization = OAuthFlow.Basic(nodes.ResourceServer);
        using var response = await api.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("active").GetBoolean();
    }

    private async Task<(RegisteredClient Client, TokenResponse Tokens)> GrantAsync(bool isPublic)
    {
        using var browser = await SignedUpAsync();
        var client = await nodes.A.RegisterClientAsync(RedirectUri, isPublic);
        var pkce = Pkce.Create();
        var code = await OAuthFlow.GetCodeAsync(browser, OAuthFlow.AuthorizeUrl(client.ClientId, RedirectUri, "openid offline_access read", pkce));
        using var api = TwoNodesOnOneFile.Api(nodes.AddressA);
        var tokens = await OAuthFlow.RedeemAsync(api, client, code, pkce.Verifier);
        Assert.Equal(HttpStatusCode.OK, tokens.Status);
        using var call = await Dashboard.CallAsync(api, "/v1/models", tokens.AccessToken);
        Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        return (client, tokens);
    }

    private async Task<TestBrowser> SignedUpAsync()
    {
        var browser = nodes.Browser();
        await OAuthFlow.SignUpAsync(browser, OAuthFlow.NewEmail());
        return browser;
    }
}
