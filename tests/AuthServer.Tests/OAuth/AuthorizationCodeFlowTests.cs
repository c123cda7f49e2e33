using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using AuthServer.Data;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using OpenIddict.Abstractions;

namespace AuthServer.Tests.OAuth;

/// <summary>The whole flow over HTTP against the real host on a real SQLite file.</summary>
public class AuthorizationCodeFlowTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    private const string RedirectUri = "https://app.example/callback";

    [Fact]
    public async Task CodeFlow_SignUpSignInConsentRedeemRefreshProfileSignOut_Works()
    {
        // Arrange: a registered app, and a person who signs up and then signs out.
        var client = await factory.RegisterClientAsync();
        var email = OAuthFlow.NewEmail();
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory, email);
        var (logoutPage, logoutDocument) = await browser.GetPageAsync("/account/logout");
        Assert.Equal(HttpStatusCode.OK, logoutPage.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.SubmitAsync(logoutDocument, new Dictionary<string, string>())).StatusCode);

        // Act 1: the app sends the user to /oauth/authorize; with no session the server asks them to sign in.
        var pkce = Pkce.Create();
        var authorizeUrl = OAuthFlow.AuthorizeUrl(client.ClientId, RedirectUri, "openid profile email offline_access read", pkce);
        var first = await browser.Http.GetAsync(authorizeUrl);
        var login = TestBrowser.Location(first);
        Assert.Equal("/account/login", login.AbsolutePath);
        var returnUrl = QueryHelpers.ParseQuery(login.Query)["ReturnUrl"].ToString();

        var signedIn = await browser.SignInAsync(email, OAuthFlow.Password, returnUrl);
        Assert.Equal(returnUrl, TestBrowser.Location(signedIn).OriginalString);

        // Act 2: consent names the app and the scopes.
        var (consentResponse, consent) = await browser.GetPageAsync(returnUrl);
        Assert.Equal(HttpStatusCode.OK, consentResponse.StatusCode);
        Assert.Equal("Test App", consent.QuerySelector(".app-name")?.TextContent);
        var shownScopes = consent.QuerySelectorAll("li[data-scope]").Select(li => li.GetAttribute("data-scope")).ToList();
        Assert.Equal(["openid", "profile", "email", "offline_access", "read"], shownScopes);

        var accepted = await browser.SubmitAsync(consent, new Dictionary<string, string>(), submitButton: "submit.Accept");
        var callback = TestBrowser.Location(accepted);
        Assert.Equal(RedirectUri, callback.GetLeftPart(UriPartial.Path));
        var callbackQuery = QueryHelpers.ParseQuery(callback.Query);
        Assert.Equal("xyz-state", callbackQuery["state"]);
        Assert.Equal("https://localhost/", callbackQuery["iss"]);

        // Act 3: the app redeems the code with its secret and the PKCE verifier.
        using var api = factory.CreateApiClient();
        var tokens = await OAuthFlow.RedeemAsync(api, client, callbackQuery["code"]!, pkce.Verifier);

        // Assert: a signed (not encrypted) RFC 9068 access token for the platform API, an id token and a refresh token.
        Assert.Equal(HttpStatusCode.OK, tokens.Status);
        Assert.Equal("Bearer", tokens.Body.GetProperty("token_type").GetString());
        var accessToken = new JsonWebToken(tokens.AccessToken);
        Assert.Equal("at+jwt", accessToken.Typ);
        Assert.Equal("ES256", accessToken.Alg);
        Assert.Contains("platform-api", accessToken.Audiences);
        Assert.Equal("https://localhost/", accessToken.Issuer);
        Assert.NotNull(tokens.IdToken);
        Assert.NotNull(tokens.RefreshToken);

        // The profile endpoint accepts the access token.
        var profile = await GetProfileAsync(api, tokens.AccessToken);
        Assert.Equal(HttpStatusCode.OK, profile.StatusCode);
        using (var json = JsonDocument.Parse(await profile.Content.ReadAsStringAsync()))
        {
            Assert.Equal(email, json.RootElement.GetProperty("email").GetString());
            Assert.Equal("Ada Lovelace", json.RootElement.GetProperty("name").GetString());
            Assert.Equal(accessToken.Subject, json.RootElement.GetProperty("id").GetString());
        }

        // So does userinfo, with the claims the scopes allow.
        using (var userInfoRequest = new HttpRequestMessage(HttpMethod.Get, "/oauth/userinfo"))
        {
            userInfoRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
            using var userInfo = await api.SendAsync(userInfoRequest);
            Assert.True(userInfo.StatusCode == HttpStatusCode.OK, await userInfo.Content.ReadAsStringAsync() + userInfo.Headers.WwwAuthenticate);
            using var json = JsonDocument.Parse(await userInfo.Content.ReadAsStringAsync());
            Assert.Equal(email, json.RootElement.GetProperty("email").GetString());
            Assert.Equal(accessToken.Subject, json.RootElement.GetProperty("sub").GetString());
        }

        // Act 4: refresh rotates the refresh token and gives a working access token.
        var refreshed = await OAuthFlow.RefreshAsync(api, client, tokens.RefreshToken!);
        Assert.True(refreshed.Status == HttpStatusCode.OK, refreshed.Body.ToString());
        Assert.NotEqual(tokens.RefreshToken, refreshed.RefreshToken);
        Assert.Equal(HttpStatusCode.OK, (await GetProfileAsync(api, refreshed.AccessToken)).StatusCode);

        // Act 5: the second authorization for the same client and scopes needs no consent.
        var again = Pkce.Create();
        var direct = await browser.Http.GetAsync(OAuthFlow.AuthorizeUrl(client.ClientId, RedirectUri, "openid read", again));
        Assert.StartsWith(RedirectUri + "?code=", TestBrowser.Location(direct).OriginalString, StringComparison.Ordinal);

        // Act 6: sign out through the end-session endpoint.
        var (endSession, endSessionPage) = await browser.GetPageAsync("/oauth/logout");
        Assert.Equal(HttpStatusCode.OK, endSession.StatusCode);
        var signedOut = await browser.SubmitAsync(endSessionPage, new Dictionary<string, string>());
        Assert.Equal("/", TestBrowser.Location(signedOut).OriginalString);
        var afterSignOut = await browser.Http.GetAsync(OAuthFlow.AuthorizeUrl(client.ClientId, RedirectUri, "openid", Pkce.Create()));
        Assert.Equal("/account/login", TestBrowser.Location(afterSignOut).AbsolutePath);
    }

    [Fact]
    public async Task Consent_Denied_RedirectsWithAccessDeniedStateAndIss()
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var client = await factory.RegisterClientAsync();

        var location = await OAuthFlow.AuthorizeAsync(
            browser, OAuthFlow.AuthorizeUrl(client.ClientId, RedirectUri, "openid read", Pkce.Create()), consent: false);

        var query = QueryHelpers.ParseQuery(location.Query);
        Assert.Equal("access_denied", query["error"]);
        Assert.Equal("xyz-state", query["state"]);
        Assert.Equal("https://localhost/", query["iss"]);
        Assert.False(query.ContainsKey("code"));
    }

    [Fact]
    public async Task PromptConsent_AfterAGrant_AsksAgain_AndTheGrantIsReused()
    {
        // Arrange: consent given once.
        var email = OAuthFlow.NewEmail();
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory, email);
        var client = await factory.RegisterClientAsync();
        await OAuthFlow.GetCodeAsync(browser, OAuthFlow.AuthorizeUrl(client.ClientId, RedirectUri, "openid read", Pkce.Create()));

        // Act 1: prompt=consent asks again.
        var (asked, consent) = await browser.GetPageAsync(OAuthFlow.AuthorizeUrl(
            client.ClientId, RedirectUri, "openid read", Pkce.Create(), extra: new Dictionary<string, string> { ["prompt"] = "consent" }));
        Assert.Equal(HttpStatusCode.OK, asked.StatusCode);
        var accepted = await browser.SubmitAsync(consent, new Dictionary<string, string>(), submitButton: "submit.Accept");
        Assert.StartsWith(RedirectUri + "?code=", TestBrowser.Location(accepted).OriginalString, StringComparison.Ordinal);

        // Act 2: prompt=none needs no page: the grant is found.
        var silent = await browser.Http.GetAsync(OAuthFlow.AuthorizeUrl(
            client.ClientId, RedirectUri, "openid read", Pkce.Create(), extra: new Dictionary<string, string> { ["prompt"] = "none" }));
        Assert.StartsWith(RedirectUri + "?code=", TestBrowser.Location(silent).OriginalString, StringComparison.Ordinal);

        // Assert: accepting again reused the first grant rather than adding a second.
        await using var scope = factory.Services.CreateAsyncScope();
        var user = await scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>().FindByEmailAsync(email);
        var grants = scope.ServiceProvider.GetRequiredService<IOpenIddictAuthorizationManager>().FindBySubjectAsync(user!.Id, TestContext.Current.CancellationToken);
        Assert.Equal(1, await grants.CountAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task PublicClient_WithPkceAndNoSecret_GetsTokens()
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var client = await factory.RegisterClientAsync("http://127.0.0.1:7890/callback", isPublic: true, "openid", "read");
        Assert.Null(client.ClientSecret);
        var pkce = Pkce.Create();

        var code = await OAuthFlow.GetCodeAsync(browser, OAuthFlow.AuthorizeUrl(client.ClientId, "http://127.0.0.1:7890/callback", "openid read", pkce));
        using var api = factory.CreateApiClient();
        var tokens = await OAuthFlow.RedeemAsync(api, client, code, pkce.Verifier, "http://127.0.0.1:7890/callback");

        Assert.Equal(HttpStatusCode.OK, tokens.Status);
    }

    [Fact]
    public async Task Discovery_BothWellKnownPaths_AnnounceTheSameServer()
    {
        using var api = factory.CreateApiClient();

        using var openId = JsonDocument.Parse(await api.GetStringAsync("/.well-known/openid-configuration"));
        using var oauth = JsonDocument.Parse(await api.GetStringAsync("/.well-known/oauth-authorization-server"));

        var metadata = openId.RootElement;
        Assert.Equal(metadata.GetProperty("issuer").GetString(), oauth.RootElement.GetProperty("issuer").GetString());
        Assert.Equal("https://localhost/oauth/authorize", metadata.GetProperty("authorization_endpoint").GetString());
        Assert.Equal("https://localhost/oauth/token", metadata.GetProperty("token_endpoint").GetString());
        Assert.Equal("https://localhost/oauth/userinfo", metadata.GetProperty("userinfo_endpoint").GetString());
        Assert.Equal("https://localhost/oauth/logout", metadata.GetProperty("end_session_endpoint").GetString());
        Assert.Equal(["S256"], metadata.GetProperty("code_challenge_methods_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["authorization_code", "client_credentials", "refresh_token"], metadata.GetProperty("grant_types_supported").EnumerateArray().Select(e => e.GetString()).Order());
        Assert.Equal(["code"], metadata.GetProperty("response_types_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.True(metadata.GetProperty("authorization_response_iss_parameter_supported").GetBoolean());

        using var jwks = JsonDocument.Parse(await api.GetStringAsync(new Uri(metadata.GetProperty("jwks_uri").GetString()!).PathAndQuery));
        var key = Assert.Single(jwks.RootElement.GetProperty("keys").EnumerateArray());
        Assert.Equal("EC", key.GetProperty("kty").GetString());
        Assert.False(key.TryGetProperty("d", out _), "The JWKS must never publish private key material.");
    }

    private static async Task<HttpResponseMessage> GetProfileAsync(HttpClient api, string accessToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/user/profile");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        return await api.SendAsync(request);
    }
}
