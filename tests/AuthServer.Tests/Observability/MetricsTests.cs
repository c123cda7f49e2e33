using System.Net;
using System.Net.Sockets;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.Observability;

/// <summary>The Prometheus scrape path: the server's own instruments after real traffic, and who may read them.</summary>
public sealed class MetricsTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Scrape_FromLoopback_ShowsTheServersInstruments_AfterTraffic(bool acceleration)
    {
        // Tokens are counted whether the fast path or OpenIddict's pipeline issues them.
        await using var factory = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
        {
            ["Observability:PrometheusPath"] = "/metrics",
            ["RateLimits:Tiers:Free"] = "2",
            ["OAuth:Acceleration"] = acceleration ? "true" : "false",
        });
        var address = Start(factory, out _);
        using var http = new HttpClient { BaseAddress = address };
        var service = await factory.RegisterServiceAsync("read");

        var token = await OAuthFlow.TokenAsync(http, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials" });
        Assert.Equal(HttpStatusCode.OK, token.Status);
        Assert.Equal("invalid_client", (await OAuthFlow.TokenAsync(
            http, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials" }, secretOverride: "wrong")).Error);

        // The free tier allows two calls a minute here: the third is refused.
        var statuses = new List<HttpStatusCode>();
        for (var call = 0; call < 3; call++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models") { Headers = { Authorization = new("Bearer", token.AccessToken) } };
            statuses.Add((await http.SendAsync(request)).StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);

        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<Microsoft.AspNetCore.Identity.UserManager<AuthServer.Data.ApplicationUser>>();
            var email = OAuthFlow.NewEmail();
            var owner = new AuthServer.Data.ApplicationUser { UserName = email, Email = email };
            Assert.True((await users.CreateAsync(owner)).Succeeded);
            var key = await scope.ServiceProvider.GetRequiredService<AuthServer.ApiKeys.ApiKeyService>()
                .CreateAsync(owner.Id, "metrics", ["read"], null, owner.Id, CancellationToken.None);
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models") { Headers = { Authorization = new("Bearer", key.Secret) } };
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(request)).StatusCode);
        }

        var scrape = await http.GetStringAsync("/metrics");
        Assert.True(Counted(scrape, "authserver_tokens_issued_total", "grant_type=\"client_credentials\"") >= 1, "authserver_tokens_issued_total");
        Assert.True(Counted(scrape, "authserver_token_requests_failed_total", "error=\"invalid_client\"") >= 1, "authserver_token_requests_failed_total");
        Assert.True(Counted(scrape, "authserver_rate_limit_rejections_total", "tier=\"free\"") >= 1, "authserver_rate_limit_rejections_total");
        Assert.True(Counted(scrape, "authserver_api_keys_authentications_total", "outcome=\"valid\"") >= 1, "authserver_api_keys_authentications_total");
        Assert.Contains("authserver_keys_rotations_total", scrape, StringComparison.Ordinal);
        Assert.Contains("authserver_usage_flush_lag_seconds", scrape, StringComparison.Ordinal);
        Assert.Contains("authserver_redis_degraded", scrape, StringComparison.Ordinal);
        Assert.Contains("http_server_request_duration_seconds", scrape, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scrape_WithAPortOfItsOwn_IsServedThereOnly()
    {
        var metricsPort = FreePort();
        await using var factory = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
        {
            ["Observability:PrometheusPath"] = "/metrics",
            ["Observability:PrometheusPort"] = metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var address = Start(factory, out var mainPort, metricsPort);
        using var http = new HttpClient();

        using var onMetricsPort = await http.GetAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"));
        Assert.Equal(HttpStatusCode.OK, onMetricsPort.StatusCode);
        Assert.Contains("authserver_", await onMetricsPort.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The public port does not serve it, not even to loopback.
        using var onPublicPort = await http.GetAsync(new Uri(address, "/metrics"));
        Assert.Equal(HttpStatusCode.NotFound, onPublicPort.StatusCode);
        Assert.NotEqual(metricsPort, mainPort);
    }

    /// <summary>
    /// A counter's value for one label. At least, not exactly: the meter's name is process-wide, so hosts that other
    /// test classes run at the same time count into the same series (a deployment has one host per process).
    /// </summary>
    private static long Counted(string scrape, string name, string label)
    {
        var match = System.Text.RegularExpressions.Regex.Match(
            scrape, $@"^{name}\{{[^}}]*{System.Text.RegularExpressions.Regex.Escape(label)}[^}}]*\}} (\d+)", System.Text.RegularExpressions.RegexOptions.Multiline);
        return match.Success ? long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    private static Uri Start(ConfiguredAuthServerFactory factory, out int port, int? extraPort = null)
    {
        factory.UseKestrel(options =>
        {
            options.Listen(IPAddress.Loopback, 0);
            if (extraPort is { } extra)
            {
                options.Listen(IPAddress.Loopback, extra);
            }
        });
        factory.StartServer();
        var address = new Uri(factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .First(candidate => extraPort is null || new Uri(candidate).Port != extraPort));
        port = address.Port;
        return address;
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
