using System.Net;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;

namespace AuthServer.Tests.Hosting;

public sealed class TransportTests
{
    [Theory]
    [InlineData("/.well-known/openid-configuration")]
    [InlineData("/v1/models")] // the platform API's own pipeline branch sits behind the transport too
    public async Task Production_PlainHttp_IsRefused(string path)
    {
        await using var factory = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), ProductionSettings.For("https://localhost/"))
        { EnvironmentName = "Production" };
        using var http = factory.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("http://localhost") });

        using var response = await http.GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("HTTPS", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>Over HTTPS every answer carries HSTS, the OAuth endpoints' and the <c>/v1</c> pipeline branch's alike.</summary>
    [Theory]
    [InlineData("/.well-known/openid-configuration", HttpStatusCode.OK)]
    [InlineData("/v1/models", HttpStatusCode.Unauthorized)]
    public async Task Production_Https_IsServed_WithHsts(string path, HttpStatusCode expected)
    {
        await using var factory = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), ProductionSettings.For("https://auth.example.test/"))
        { EnvironmentName = "Production" };
        // Note: HSTS is never sent to localhost, so the request names a real host.
        using var https = factory.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://auth.example.test") });

        using var response = await https.GetAsync(path);

        Assert.Equal(expected, response.StatusCode);
        Assert.True(response.Headers.Contains("Strict-Transport-Security"));
    }

    /// <summary>Every answer names its request, errors and refusals too, so a caller can quote it to the operator.</summary>
    [Theory]
    [InlineData("/.well-known/openid-configuration")]
    [InlineData("/v1/models")]
    [InlineData("/admin/clients")]
    [InlineData("/no-such-page")]
    public async Task EveryAnswer_CarriesARequestId_UniquePerRequest(string path)
    {
        await using var factory = new AuthServerFactory();
        using var api = factory.CreateApiClient();

        using var first = await api.GetAsync(path);
        using var second = await api.GetAsync(path);

        var ids = new[] { first, second }.Select(response => Assert.Single(response.Headers.GetValues("X-Request-Id"))).ToList();
        Assert.All(ids, id => Assert.False(string.IsNullOrWhiteSpace(id)));
        Assert.NotEqual(ids[0], ids[1]);
    }

    [Fact]
    public async Task Production_HealthProbesOverHttp_AreAnswered()
    {
        await using var factory = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), ProductionSettings.For("https://localhost/"))
        { EnvironmentName = "Production" };
        using var http = factory.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("http://localhost") });

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/readyz")).StatusCode);
    }

    [Fact]
    public async Task Development_PlainHttpFromAnotherMachine_IsRefused()
    {
        await using var factory = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath());
        _ = factory.Server;

        var context = await factory.Server.SendAsync(request =>
        {
            request.Request.Method = "GET";
            request.Request.Scheme = "http";
            request.Request.Path = "/.well-known/openid-configuration";
            request.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.7");
        });

        Assert.Equal(StatusCodes.Status400BadRequest, context.Response.StatusCode);
    }

    [Fact]
    public async Task Development_PlainHttpFromLoopback_Serves()
    {
        await using var factory = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath());
        _ = factory.Server;

        var context = await factory.Server.SendAsync(request =>
        {
            request.Request.Method = "GET";
            request.Request.Scheme = "http";
            request.Request.Path = "/.well-known/openid-configuration";
            request.Connection.RemoteIpAddress = IPAddress.Loopback;
        });

        Assert.Equal(StatusCodes.Status200OK, context.Response.StatusCode);
    }

    [Fact]
    public async Task Production_BehindATlsProxy_TheOAuthEndpointsSeeHttps()
    {
        // OpenIddict checks the scheme itself: it must run after the forwarded headers are applied.
        await using var factory = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), ProductionSettings.For("https://auth.example.test/", new Dictionary<string, string?>
        {
            ["Transport:UseForwardedHeaders"] = "true",
            ["Transport:KnownProxies:0"] = "127.0.0.1",
        }))
        { EnvironmentName = "Production" };
        _ = factory.Server;

        var context = await factory.Server.SendAsync(request =>
        {
            request.Request.Method = "GET";
            request.Request.Scheme = "http";
            request.Request.Host = new HostString("auth.example.test");
            request.Request.Path = "/.well-known/openid-configuration";
            request.Request.Headers["X-Forwarded-Proto"] = "https";
            request.Connection.RemoteIpAddress = IPAddress.Loopback;
        });

        Assert.Equal(StatusCodes.Status200OK, context.Response.StatusCode);
    }
}
