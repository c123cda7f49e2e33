using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using AuthServer.Tests.Infrastructure;

namespace AuthServer.Tests.Hosting;

/// <summary>Keys and tokens live in the database, so a restart (or another node) changes nothing for clients.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task Restart_SameDatabase_KeepsSigningKeyAndIssuedTokensValid()
    {
        var path = TestDatabase.NewSqlitePath();
        string accessToken, refreshToken, keysBefore;
        AuthServer.Clients.RegisteredClient client;

        await using (var before = new ConfiguredAuthServerFactory(path))
        {
            var (browser, registered, tokens) = await OAuthFlow.FullFlowAsync(before);
            browser.Dispose();
            (client, accessToken, refreshToken) = (registered, tokens.AccessToken, tokens.RefreshToken!);
            using var api = before.CreateApiClient();
            keysBefore = await api.GetStringAsync("/.well-known/jwks");
        }

        await using var after = new ConfiguredAuthServerFactory(path);
        using var client2 = after.CreateApiClient();

        // The same public key is published...
        Assert.Equal(Kids(keysBefore), Kids(await client2.GetStringAsync("/.well-known/jwks")));

        // ...the access token issued before the restart still validates...
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/user/profile");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        Assert.Equal(HttpStatusCode.OK, (await client2.SendAsync(request)).StatusCode);

        // ...and the refresh token (encrypted with the persisted key) still redeems.
        var refreshed = await OAuthFlow.RefreshAsync(client2, client, refreshToken);
        Assert.Equal(HttpStatusCode.OK, refreshed.Status);
    }

    [Fact]
    public async Task TwoNodes_SameDatabase_AgreeOnTheSigningKey()
    {
        var path = TestDatabase.NewSqlitePath();
        await using var first = new ConfiguredAuthServerFactory(path);
        await using var second = new ConfiguredAuthServerFactory(path);

        using var a = first.CreateApiClient();
        using var b = second.CreateApiClient();
        var (jwksA, jwksB) = (await a.GetStringAsync("/.well-known/jwks"), await b.GetStringAsync("/.well-known/jwks"));

        Assert.Equal(Kids(jwksA), Kids(jwksB));

        // A token from one node is accepted by the other.
        var (browser, _, tokens) = await OAuthFlow.FullFlowAsync(first);
        browser.Dispose();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/user/profile");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await b.SendAsync(request)).StatusCode);
    }

    private static List<string> Kids(string jwks)
    {
        using var document = JsonDocument.Parse(jwks);
        return [.. document.RootElement.GetProperty("keys").EnumerateArray().Select(key => key.GetProperty("kid").GetString()!)];
    }
}
