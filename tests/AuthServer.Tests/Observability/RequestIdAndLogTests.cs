using System.Net;
using System.Text.Json;
using AuthServer.ApiKeys;
using AuthServer.Data;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.Observability;

/// <summary>The request id in answers, error bodies and log lines; and no secret in any log line.</summary>
public sealed class RequestIdAndLogTests
{
    [Fact]
    public async Task ErrorBodies_NameTheRequest_AsTheHeaderDoes()
    {
        await using var factory = new AuthServerFactory();
        using var api = factory.CreateApiClient();
        var service = await factory.RegisterServiceAsync("read");

        // The platform API's shape, an OAuth error written by OpenIddict, and one written by us.
        using var platform = await api.GetAsync("/v1/models");
        using var token = await api.PostAsync("/oauth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = service.ClientId,
            ["client_secret"] = "wrong",
        }));
        using var admin = await api.GetAsync("/admin/clients");

        Assert.Equal(await RequestIdInBodyAsync(platform, body => body.GetProperty("error").GetProperty("request_id")), Header(platform));
        Assert.Equal(await RequestIdInBodyAsync(token, body => body.GetProperty("request_id")), Header(token));
        Assert.Equal(await RequestIdInBodyAsync(admin, body => body.GetProperty("request_id")), Header(admin));
    }

    [Fact]
    public async Task RequestIdFromATrustedProxy_IsKept_InTheAnswerAndTheLogs_AndIgnoredFromAnyoneElse()
    {
        var logs = new CapturedLogs();
        await using var behindProxy = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
        {
            // Loopback is a known proxy by default, as for ASP.NET Core's forwarded headers.
            ["Transport:UseForwardedHeaders"] = "true",
            ["Observability:JsonLogs"] = "true",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Debug",
        })
        { LogSink = logs };
        using var proxied = new HttpClient { BaseAddress = StartOnLoopback(behindProxy) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/models") { Headers = { { "X-Request-Id", "edge-7f3a9c" } } };
        using var answer = await proxied.SendAsync(request);
        Assert.Equal("edge-7f3a9c", Header(answer));
        Assert.Equal("edge-7f3a9c", await RequestIdInBodyAsync(answer, body => body.GetProperty("error").GetProperty("request_id")));
        Assert.Contains(logs.Lines, line => line.Contains("RequestId:edge-7f3a9c", StringComparison.Ordinal));

        // Without forwarded headers no caller is a trusted proxy: the server names the request itself.
        await using var direct = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath());
        using var client = new HttpClient { BaseAddress = StartOnLoopback(direct) };
        using var spoofed = new HttpRequestMessage(HttpMethod.Get, "v1/models") { Headers = { { "X-Request-Id", "edge-7f3a9c" } } };
        using var own = await client.SendAsync(spoofed);
        Assert.NotEqual("edge-7f3a9c", Header(own));
    }

    [Fact]
    public async Task AFullFlow_AtDebugLevel_LogsNoSecretKeyOrToken()
    {
        var logs = new CapturedLogs();
        await using var factory = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Debug",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Debug",
            ["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Debug",
            ["Logging:LogLevel:OpenIddict"] = "Debug",
        })
        { LogSink = logs };
        using var api = factory.CreateApiClient();

        var (browser, client, tokens) = await OAuthFlow.FullFlowAsync(factory);
        browser.Dispose();
        var refreshed = await OAuthFlow.RefreshAsync(api, client, tokens.RefreshToken!);
        Assert.Equal(HttpStatusCode.OK, refreshed.Status);

        var service = await factory.RegisterServiceAsync("read");
        var serviceToken = await OAuthFlow.TokenAsync(api, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials" });
        await using var scope = factory.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        var email = OAuthFlow.NewEmail();
        var owner = new ApplicationUser { UserName = email, Email = email };
        Assert.True((await users.CreateAsync(owner)).Succeeded);
        var key = await scope.ServiceProvider.GetRequiredService<ApiKeyService>().CreateAsync(owner.Id, "logs", ["read"], null, owner.Id, CancellationToken.None);

        foreach (var bearer in new[] { refreshed.AccessToken, serviceToken.AccessToken, key.Secret, key.Secret + "x" })
        {
            using var call = new HttpRequestMessage(HttpMethod.Get, "/v1/models") { Headers = { Authorization = new("Bearer", bearer) } };
            await api.SendAsync(call);
        }

        using var introspect = new HttpRequestMessage(HttpMethod.Post, "/oauth/introspect")
        {
            Headers = { Authorization = OAuthFlow.Basic(client) },
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = refreshed.AccessToken }),
        };
        await api.SendAsync(introspect);
        using var revoke = new HttpRequestMessage(HttpMethod.Post, "/oauth/revoke")
        {
            Headers = { Authorization = OAuthFlow.Basic(client) },
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = refreshed.RefreshToken! }),
        };
        await api.SendAsync(revoke);
        await factory.Services.GetRequiredService<AuthServer.Usage.UsageMeter>().FlushAsync(CancellationToken.None);

        var text = logs.Text;
        Assert.True(logs.Lines.Count > 100, "The capture saw too little to prove anything.");
        var secrets = new Dictionary<string, string>
        {
            ["password"] = OAuthFlow.Password,
            ["client secret"] = client.ClientSecret!,
            ["service secret"] = service.ClientSecret!,
            ["API key"] = key.Secret,
            ["access token"] = tokens.AccessToken,
            ["refresh token"] = tokens.RefreshToken!,
            ["id token"] = tokens.IdToken!,
            ["second access token"] = refreshed.AccessToken,
            ["second refresh token"] = refreshed.RefreshToken!,
            ["service token"] = serviceToken.AccessToken,
        };
        foreach (var (name, secret) in secrets)
        {
            // The signature part of a JWT (or the tail of any other secret) is enough to give it away.
            var telltale = secret.Contains('.', StringComparison.Ordinal) ? secret[(secret.LastIndexOf('.') + 1)..] : secret[^16..];
            Assert.False(text.Contains(telltale, StringComparison.Ordinal), $"The {name} appears in the logs.");
        }
    }

    private static Uri StartOnLoopback(ConfiguredAuthServerFactory factory)
    {
        factory.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        factory.StartServer();
        return new Uri(factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
    }

    private static string Header(HttpResponseMessage response) => Assert.Single(response.Headers.GetValues("X-Request-Id"));

    private static async Task<string?> RequestIdInBodyAsync(HttpResponseMessage response, Func<JsonElement, JsonElement> find)
    {
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return find(body.RootElement).GetString();
    }
}
