using System.Net;
using System.Net.Http.Headers;
using AuthServer.Tests.Infrastructure;

namespace AuthServer.SqlServer.Tests;

/// <summary>The authorization-code flow end to end on SQL Server, migrated by the host at start-up.</summary>
public sealed class SqlServerFlowTests(SqlServerFixture sqlServer) : IClassFixture<SqlServerFixture>
{
    [Fact]
    public async Task CodeFlow_OnSqlServer_IssuesTokensThatSurviveARestart()
    {
        Assert.SkipWhen(sqlServer.SkipReason is not null, sqlServer.SkipReason ?? "");
        var settings = Settings($"authserver_{Guid.NewGuid():N}");

        string accessToken;
        TokenResponse tokens;
        AuthServer.Clients.RegisteredClient client;
        await using (var factory = new ConfiguredAuthServerFactory("unused.db", settings))
        {
            (var browser, client, tokens) = await OAuthFlow.FullFlowAsync(factory);
            browser.Dispose();
            accessToken = tokens.AccessToken;

            using var api = factory.CreateApiClient();
            var refreshed = await OAuthFlow.RefreshAsync(api, client, tokens.RefreshToken!);
            Assert.Equal(HttpStatusCode.OK, refreshed.Status);
            tokens = refreshed;
        }

        await using var restarted = new ConfiguredAuthServerFactory("unused.db", settings);
        using var client2 = restarted.CreateApiClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/user/profile");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        Assert.Equal(HttpStatusCode.OK, (await client2.SendAsync(request)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await OAuthFlow.RefreshAsync(client2, client, tokens.RefreshToken!)).Status);
    }

    [Fact]
    public async Task Exchange_ReusedCode_OnSqlServer_IsInvalidGrant()
    {
        Assert.SkipWhen(sqlServer.SkipReason is not null, sqlServer.SkipReason ?? "");
        await using var factory = new ConfiguredAuthServerFactory("unused.db", Settings($"authserver_{Guid.NewGuid():N}"));
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var client = await factory.RegisterClientAsync();
        var pkce = Pkce.Create();
        var code = await OAuthFlow.GetCodeAsync(browser, OAuthFlow.AuthorizeUrl(client.ClientId, "https://app.example/callback", "openid offline_access read", pkce));
        using var api = factory.CreateApiClient();
        Assert.Equal(HttpStatusCode.OK, (await OAuthFlow.RedeemAsync(api, client, code, pkce.Verifier)).Status);

        var replay = await OAuthFlow.RedeemAsync(api, client, code, pkce.Verifier);

        Assert.Equal("invalid_grant", replay.Error);
    }

    [Fact]
    public async Task ClientCredentials_ConcurrentTokens_OnSqlServer_AreStoredTogether_AndRevocable()
    {
        Assert.SkipWhen(sqlServer.SkipReason is not null, sqlServer.SkipReason ?? "");
        await using var factory = new ConfiguredAuthServerFactory("unused.db", Settings($"authserver_{Guid.NewGuid():N}"));
        var service = await factory.RegisterServiceAsync("read");
        using var api = factory.CreateApiClient();

        // The fast path's rows of concurrent requests are committed together (TokenGroupCommit), here on SQL Server.
        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => OAuthFlow.TokenAsync(
            api, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = "read" })));

        Assert.All(answers, answer => Assert.Equal(HttpStatusCode.OK, answer.Status));
        foreach (var answer in answers)
        {
            Assert.True(await IsActiveAsync(api, service, answer.AccessToken));
        }

        using var revoke = new HttpRequestMessage(HttpMethod.Post, "/oauth/revoke")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = answers[0].AccessToken }),
        };
        revoke.Headers.Authorization = OAuthFlow.Basic(service);
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(revoke)).StatusCode);
        Assert.False(await IsActiveAsync(api, service, answers[0].AccessToken));
    }

    private static async Task<bool> IsActiveAsync(HttpClient api, AuthServer.Clients.RegisteredClient caller, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/introspect")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        request.Headers.Authorization = OAuthFlow.Basic(caller);
        using var response = await api.SendAsync(request);
        using var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("active").GetBoolean();
    }

    private Dictionary<string, string?> Settings(string database) => new()
    {
        ["Database:Provider"] = "SqlServer",
        ["Database:ConnectionString"] = sqlServer.DatabaseConnectionString(database),
        ["Database:MigrateOnStartup"] = "true",
    };
}
