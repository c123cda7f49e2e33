using System.Net;
using AuthServer.Clients;
using AuthServer.Tests.Infrastructure;

namespace AuthServer.Tests.PlatformApi;

/// <summary>
/// The server's own APIs honour every way an access token ends, right after it ends, even for a token they have
/// just accepted (and so remember): RFC 7009 revocation, a replayed code (RFC 6749 §4.1.2), a replayed refresh
/// token, the person revoking the app, and the app being deleted.
/// </summary>
public class RevokedTokenTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    private const string RedirectUri = "https://app.example/callback";
    private const string Scope = "openid profile offline_access read";

    [Fact]
    public async Task RevokedAtTheRevocationEndpoint_Is401Everywhere()
    {
        var (client, tokens, browser) = await GrantAsync();
        using (browser)
        {
            using var api = factory.CreateApiClient();
            using var revoke = new HttpRequestMessage(HttpMethod.Post, "/oauth/revoke")
            {
                Headers = { Authorization = OAuthFlow.Basic(client) },
                Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = tokens.AccessToken }),
            };
            Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(revoke)).StatusCode);

            await AssertRefusedAsync(tokens.AccessToken);
        }
    }

    [Fact]
    public async Task CodeReplayed_TheCodesTokens_Are401Everywhere()
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var client = await factory.RegisterClientAsync(RedirectUri);
        var pkce = Pkce.Create();
        var code = await OAuthFlow.GetCodeAsync(browser, OAuthFlow.AuthorizeUrl(client.ClientId, RedirectUri, Scope, pkce));
        using var api = factory.CreateApiClient();
        var tokens = await OAuthFlow.RedeemAsync(api, client, code, pkce.Verifier);
        await AssertAcceptedAsync(tokens.AccessToken);

        Assert.Equal("invalid_grant", (await OAuthFlow.RedeemAsync(api, client, code, pkce.Verifier)).Error);

        await AssertRefusedAsync(tokens.AccessToken);
        Assert.Equal("invalid_grant", (await OAuthFlow.RefreshAsync(api, client, tokens.RefreshToken!)).Error);
    }

    [Fact]
    public async Task RefreshTokenReplayed_EveryTokenOfTheFamily_Is401Everywhere()
    {
        // A public client: its second use of a refresh token is a replay however soon it comes.
        var (client, tokens, browser) = await GrantAsync(isPublic: true);
        using (browser)
        {
            using var api = factory.CreateApiClient();
            var rotated = await OAuthFlow.RefreshAsync(api, client, tokens.RefreshToken!);
            Assert.Equal(HttpStatusCode.OK, rotated.Status);
            await AssertAcceptedAsync(rotated.AccessToken);

            Assert.Equal("invalid_grant", (await OAuthFlow.RefreshAsync(api, client, tokens.RefreshToken!)).Error);

            await AssertRefusedAsync(tokens.AccessToken);
            await AssertRefusedAsync(rotated.AccessToken);
            Assert.Equal("invalid_grant", (await OAuthFlow.RefreshAsync(api, client, rotated.RefreshToken!)).Error);
        }
    }

    [Fact]
    public async Task PersonRevokesTheApp_ItsTokens_Are401Everywhere()
    {
        var (_, tokens, browser) = await GrantAsync();
        using (browser)
        {
            var (_, page) = await browser.GetPageAsync("/account/apps");
            Assert.Equal(HttpStatusCode.Redirect, (await browser.SubmitAsync(page, new Dictionary<string, string>(), "form.revoke")).StatusCode);

            await AssertRefusedAsync(tokens.AccessToken);
        }
    }

    [Fact]
    public async Task ClientDeleted_ItsTokens_Are401Everywhere()
    {
        var (client, tokens, browser) = await GrantAsync();
        using (browser)
        {
            using var admin = await factory.CreateAdminClientAsync();
            Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/admin/clients/{client.ClientId}")).StatusCode);

            await AssertRefusedAsync(tokens.AccessToken);
        }
    }

    [Fact]
    public async Task AdminClientsToken_RevokedAtTheRevocationEndpoint_Is401OnTheAdminApi()
    {
        var admin = await factory.RegisterAsync(new ClientRegistration("Ops", [], IsPublic: false, ["admin"], GrantTypes: ["client_credentials"]));
        using var api = factory.CreateApiClient();
        var token = (await OAuthFlow.TokenAsync(api, admin, new Dictionary<string, string> { ["grant_type"] = "client_credentials" })).AccessToken;
        using (var before = await Dashboard.CallAsync(api, "/admin/clients", token))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        using var revoke = new HttpRequestMessage(HttpMethod.Post, "/oauth/revoke")
        {
            Headers = { Authorization = OAuthFlow.Basic(admin) },
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(revoke)).StatusCode);

        using var after = await Dashboard.CallAsync(api, "/admin/clients", token);
        await ProfileEndpointTests.AssertOAuthErrorAsync(after, HttpStatusCode.Unauthorized, "invalid_token");
    }

    /// <summary>A person's grant to a new app, whose access token the platform API has just accepted.</summary>
    private async Task<(RegisteredClient Client, TokenResponse Tokens, TestBrowser Browser)> GrantAsync(bool isPublic = false)
    {
        var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var client = await factory.RegisterClientAsync(RedirectUri, isPublic);
        var pkce = Pkce.Create();
        var code = await OAuthFlow.GetCodeAsync(browser, OAuthFlow.AuthorizeUrl(client.ClientId, RedirectUri, Scope, pkce));
        using var api = factory.CreateApiClient();
        var tokens = await OAuthFlow.RedeemAsync(api, client, code, pkce.Verifier);
        Assert.Equal(HttpStatusCode.OK, tokens.Status);
        await AssertAcceptedAsync(tokens.AccessToken);
        return (client, tokens, browser);
    }

    private async Task AssertAcceptedAsync(string token)
    {
        using var api = factory.CreateApiClient();
        foreach (var path in new[] { "/v1/models", "/v1/user/profile" })
        {
            using var response = await Dashboard.CallAsync(api, path, token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Authenticated, but not an admin.
        using var admin = await Dashboard.CallAsync(api, "/admin/clients", token);
        Assert.Equal(HttpStatusCode.Forbidden, admin.StatusCode);
    }

    private async Task AssertRefusedAsync(string token)
    {
        using var api = factory.CreateApiClient();
        foreach (var path in new[] { "/v1/models", "/v1/user/profile" })
        {
            using var response = await Dashboard.CallAsync(api, path, token);
            await ProfileEndpointTests.AssertErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_token");
        }

        using var admin = await Dashboard.CallAsync(api, "/admin/clients", token);
        await ProfileEndpointTests.AssertOAuthErrorAsync(admin, HttpStatusCode.Unauthorized, "invalid_token");
    }
}
