using AuthServer.Clients;
using AuthServer.Data;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.RateLimiting;

/// <summary>A server with small tiers (free 10, pro 20 per minute) so that limits are reached in a few calls.</summary>
public sealed class RateLimitedServer() : AuthServerFactory(TestDatabase.NewSqlitePath(), Settings)
{
    public const int Free = 10;
    public const int Pro = 20;

    internal static readonly Dictionary<string, string?> Settings = new()
    {
        ["RateLimits:Tiers:free"] = "10",
        ["RateLimits:Tiers:pro"] = "20",
        ["RateLimits:KeyFailuresPerMinute"] = "100000",
        ["RateLimits:TokenFailuresPerMinute"] = "100000",
        ["RateLimits:SignInFailuresPerMinute"] = "100000",
        ["Usage:FlushInterval"] = "00:05:00",
        ["Usage:FailureBurst"] = "5",
        ["Usage:DistinctIps"] = "3",
    };
}

/// <summary>An account as its tests use it: the signed-in browser, its id and an API key.</summary>
public sealed record TestAccount(TestBrowser Browser, string Id, string Key) : IDisposable
{
    public static async Task<TestAccount> CreateAsync(AuthServerFactory factory, string[]? scopes = null)
    {
        var email = OAuthFlow.NewEmail();
        var browser = await OAuthFlow.SignedUpBrowserAsync(factory, email);
        var key = await Dashboard.CreateKeyAsync(browser, scopes: scopes);
        await using var scope = factory.Services.CreateAsyncScope();
        var user = await scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>().FindByEmailAsync(email);
        return new TestAccount(browser, user!.Id, key);
    }

    /// <summary>An access token issued to a client this account registered as a developer, for another user.</summary>
    public async Task<string> TokenOfOwnAppAsync(AuthServerFactory factory)
    {
        RegisteredClient client;
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            client = await scope.ServiceProvider.GetRequiredService<DeveloperApps>()
                .CreateAsync(Id, new AuthServer.Clients.DeveloperAppInput("Owned App", [new Uri("https://app.example/callback")], IsPublic: false, ["openid", "profile", "offline_access", "read"], AuthServer.Core.AppLinks.None), CancellationToken.None);
        }

        using var user = await OAuthFlow.SignedUpBrowserAsync(factory);
        var pkce = Pkce.Create();
        var code = await OAuthFlow.GetCodeAsync(user, OAuthFlow.AuthorizeUrl(client.ClientId, "https://app.example/callback", "openid read", pkce));
        using var http = factory.CreateApiClient();
        return (await OAuthFlow.RedeemAsync(http, client, code, pkce.Verifier)).AccessToken;
    }

    public void Dispose() => Browser.Dispose();
}

internal static class Calls
{
    public static async Task<List<HttpResponseMessage>> ManyAsync(HttpClient api, string credential, int count, string path = "/v1/models")
    {
        var responses = new List<HttpResponseMessage>();
        for (var i = 0; i < count; i++)
        {
            responses.Add(await Dashboard.CallAsync(api, path, credential));
        }

        return responses;
    }

    public static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : throw new Xunit.Sdk.XunitException($"No {name} header");

    public static int IntHeader(HttpResponseMessage response, string name) =>
        int.Parse(Header(response, name), System.Globalization.CultureInfo.InvariantCulture);
}
