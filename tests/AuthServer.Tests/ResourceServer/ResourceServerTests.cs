using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using AuthServer.Clients;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace AuthServer.Tests.ResourceServer;

/// <summary>The authorization server and a resource server, each on its own loopback port, talking real HTTP.</summary>
public sealed class LoopbackServers : IAsyncLifetime
{
    public ConfiguredAuthServerFactory Authority { get; } = new(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
    {
        // Short, so the expiry test need not wait long; every other test uses its token at once.
        ["OAuth:AccessTokenLifetime"] = "00:00:05",
    });

    // Each asks SuiteDatabase first: in the PostgreSQL suite without PostgreSQL, nothing starts and the test skips.
    public Uri Issuer { get => Started(field); private set; } = null!;

    public SampleResourceServer Api { get => Started(field); private set; } = null!;

    public RegisteredClient Service { get => Started(field); private set; } = null!;

    /// <summary>The platform API as a client of the authority: its client_id is the tokens' audience.</summary>
    public RegisteredClient ResourceServer { get => Started(field); private set; } = null!;

    private static T Started<T>(T value)
    {
        SuiteDatabase.SkipIfUnavailable();
        return value;
    }

    public async ValueTask InitializeAsync()
    {
        if (SuiteDatabase.Unavailable)
        {
            return;
        }

        Authority.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        Authority.StartServer();
        Issuer = new Uri(Authority.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");

        // The resource server introspects as the tokens' audience: its client_id is the API's resource name.
        var resource = await Authority.RegisterAsync(new ClientRegistration(
            "Platform API", [], IsPublic: false, ["read"], GrantTypes: ["client_credentials"], ClientId: "platform-api"));
        ResourceServer = resource;
        Api = await SampleResourceServer.StartAsync(Issuer, resource.ClientId, resource.ClientSecret!);
        Service = await Authority.RegisterServiceAsync("read", "write");
    }

    public async ValueTask DisposeAsync()
    {
        if (!SuiteDatabase.Unavailable)
        {
            await Api.DisposeAsync();
        }

        await Authority.DisposeAsync();
    }
}

public sealed class ResourceServerTests(LoopbackServers servers) : IClassFixture<LoopbackServers>
{
    [Theory]
    [InlineData("/local")]
    [InlineData("/introspected")]
    public async Task ValidToken_Passes(string path)
    {
        var token = await TokenAsync(servers.Service);

        using var response = await CallAsync(path, token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(servers.Service.ClientId, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/local")]
    [InlineData("/introspected")]
    public async Task ApiKey_IsAcceptedByIntrospectionOnly(string path)
    {
        await using var scope = servers.Authority.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<Microsoft.AspNetCore.Identity.UserManager<AuthServer.Data.ApplicationUser>>();
        var email = OAuthFlow.NewEmail();
        var owner = new AuthServer.Data.ApplicationUser { UserName = email, Email = email };
        Assert.True((await users.CreateAsync(owner)).Succeeded);
        var key = await scope.ServiceProvider.GetRequiredService<AuthServer.ApiKeys.ApiKeyService>()
            .CreateAsync(owner.Id, "rs", ["read"], null, owner.Id, CancellationToken.None);

        using var response = await CallAsync(path, key.Secret);

        Assert.Equal(path == "/introspected" ? HttpStatusCode.OK : HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task ApiKey_IntrospectedByAnAppThatIsNotItsAudience_IsInactive_AndTheAppLearnsNothing()
    {
        await using var scope = servers.Authority.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<Microsoft.AspNetCore.Identity.UserManager<AuthServer.Data.ApplicationUser>>();
        var email = OAuthFlow.NewEmail();
        var owner = new AuthServer.Data.ApplicationUser { UserName = email, Email = email };
        Assert.True((await users.CreateAsync(owner)).Succeeded);
        var key = await scope.ServiceProvider.GetRequiredService<AuthServer.ApiKeys.ApiKeyService>()
            .CreateAsync(owner.Id, "rs", ["read"], null, owner.Id, CancellationToken.None);

        // A confidential app (as developers register on the dashboard) may introspect, but is no resource server.
        var app = await servers.Authority.RegisterAsync(new ClientRegistration("Some App", [new Uri("https://app.example/cb")], IsPublic: false, ["openid", "read"]));
        var answers = new Dictionary<string, string>();
        foreach (var caller in new[] { app, servers.ResourceServer })
        {
            using var http = new HttpClient { BaseAddress = servers.Issuer };
            using var request = new HttpRequestMessage(HttpMethod.Post, "oauth/introspect")
            {
                Headers = { Authorization = OAuthFlow.Basic(caller) },
                Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = key.Secret }),
            };
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            answers[caller.ClientId] = await response.Content.ReadAsStringAsync();
        }

        Assert.Equal("""{"active":false}""", answers[app.ClientId]);
        Assert.Contains(owner.Id, answers["platform-api"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/local")]
    [InlineData("/introspected")]
    public async Task ExpiredToken_Is401(string path)
    {
        var token = await TokenAsync(servers.Service);

        await Task.Delay(TimeSpan.FromSeconds(6));
        using var response = await CallAsync(path, token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task RevokedToken_Is401OnTheIntrospectionPath()
    {
        var token = await TokenAsync(servers.Service);
        using var http = new HttpClient { BaseAddress = servers.Issuer };
        using var revoke = new HttpRequestMessage(HttpMethod.Post, "oauth/revoke")
        {
            Headers = { Authorization = OAuthFlow.Basic(servers.Service) },
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(revoke)).StatusCode);

        using var response = await CallAsync("/introspected", token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task TokenForAnotherAudience_Is401()
    {
        var token = await TokenAsync(servers.Service);

        using var response = await CallAsync("/other-audience", token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("/local")]
    [InlineData("/introspected")]
    public async Task TamperedSignature_Is401(string path)
    {
        var parts = (await TokenAsync(servers.Service)).Split('.');
        var payload = JsonSerializer.Deserialize<Dictionary<string, object>>(Base64UrlEncoder.Decode(parts[1]))!;
        payload["scope"] = "read write admin";
        var tampered = $"{parts[0]}.{Base64UrlEncoder.Encode(JsonSerializer.Serialize(payload))}.{parts[2]}";

        using var response = await CallAsync(path, tampered);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("/local")]
    [InlineData("/introspected")]
    public async Task AlgNone_Is401(string path)
    {
        var parts = (await TokenAsync(servers.Service)).Split('.');
        var header = Base64UrlEncoder.Encode("""{"alg":"none","typ":"at+jwt"}""");

        using var response = await CallAsync(path, $"{header}.{parts[1]}.");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("/local")]
    [InlineData("/introspected")]
    public async Task MissingScope_Is403(string path)
    {
        var writer = await servers.Authority.RegisterServiceAsync("write");
        var token = await TokenAsync(writer);

        using var response = await CallAsync(path, token);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    private async Task<string> TokenAsync(RegisteredClient client)
    {
        using var http = new HttpClient { BaseAddress = servers.Issuer };
        var response = await OAuthFlow.TokenAsync(http, client, new Dictionary<string, string> { ["grant_type"] = "client_credentials" });
        Assert.Equal(HttpStatusCode.OK, response.Status);
        return response.AccessToken;
    }

    private async Task<HttpResponseMessage> CallAsync(string path, string token)
    {
        using var http = new HttpClient { BaseAddress = servers.Api.Address };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await http.SendAsync(request);
    }

}
