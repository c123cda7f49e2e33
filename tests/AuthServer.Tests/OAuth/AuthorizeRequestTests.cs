using System.Net;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.WebUtilities;

namespace AuthServer.Tests.OAuth;

/// <summary>Bad authorization requests: what is shown on the server, and what goes back to the client.</summary>
public class AuthorizeRequestTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    private const string RedirectUri = "https://app.example/callback";

    [Fact]
    public async Task Authorize_UnknownClient_ShowsErrorPageAndNeverRedirects()
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);

        var (response, page) = await browser.GetPageAsync(
            OAuthFlow.AuthorizeUrl("no-such-client", RedirectUri, "openid", Pkce.Create()));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Equal("invalid_request", page.QuerySelector(".error-code")?.TextContent);
        Assert.Contains("client_id", page.QuerySelector(".error-description")?.TextContent, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://app.example/callback/extra")]
    [InlineData("https://app.example/callback?x=1")]
    [InlineData("https://app.example/callback#fragment")]
    [InlineData("https://app.example/callback/")]
    [InlineData("http://app.example/callback")]
    [InlineData("https://APP.example/callback")]
    [InlineData("https://app.example:444/callback")]
    [InlineData("https://evil.example/callback")]
    public async Task Authorize_RedirectUriNotExactlyRegistered_ShowsErrorPageAndNeverRedirects(string redirectUri)
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var client = await factory.RegisterClientAsync(RedirectUri);

        var (response, page) = await browser.GetPageAsync(
            OAuthFlow.AuthorizeUrl(client.ClientId, redirectUri, "openid", Pkce.Create()));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Equal("invalid_request", page.QuerySelector(".error-code")?.TextContent);
    }

    [Fact]
    public async Task Authorize_WithoutPkce_RedirectsInvalidRequestWithStateAndIss()
    {
        var query = await AuthorizeExpectingRedirectedErrorAsync(client => OAuthFlow.AuthorizeUrl(client, RedirectUri, "openid", pkce: null));

        Assert.Equal("invalid_request", query["error"]);
        Assert.Contains("code_challenge", query["error_description"].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Authorize_PlainPkce_RedirectsInvalidRequest()
    {
        var query = await AuthorizeExpectingRedirectedErrorAsync(
            client => OAuthFlow.AuthorizeUrl(client, RedirectUri, "openid", Pkce.Create(), challengeMethod: "plain"));

        Assert.Equal("invalid_request", query["error"]);
        Assert.Contains("code_challenge_method", query["error_description"].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Authorize_ScopeNotRegisteredForClient_RedirectsInvalidScope()
    {
        var query = await AuthorizeExpectingRedirectedErrorAsync(
            client => OAuthFlow.AuthorizeUrl(client, RedirectUri, "openid read write", Pkce.Create()),
            scopes: ["openid", "read"]);

        // RFC 6749 §4.1.2.1: OpenIddict's own answer is invalid_request, rewritten to invalid_scope.
        Assert.Equal("invalid_scope", query["error"]);
        Assert.Contains("scope", query["error_description"].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Authorize_AdminScope_RedirectsInvalidScopeWithStateAndIss()
    {
        var query = await AuthorizeExpectingRedirectedErrorAsync(
            client => OAuthFlow.AuthorizeUrl(client, RedirectUri, "openid read admin", Pkce.Create()));

        Assert.Equal("invalid_scope", query["error"]);
    }

    [Fact]
    public async Task Authorize_UnknownScope_RedirectsInvalidScope()
    {
        var query = await AuthorizeExpectingRedirectedErrorAsync(
            client => OAuthFlow.AuthorizeUrl(client, RedirectUri, "openid superuser", Pkce.Create()));

        Assert.Equal("invalid_scope", query["error"]);
    }

    [Theory]
    [InlineData("token")]
    [InlineData("id_token")]
    [InlineData("code id_token")]
    public async Task Authorize_ImplicitOrHybridResponseType_IsRefused(string responseType)
    {
        var query = await AuthorizeExpectingRedirectedErrorAsync(client => OAuthFlow.AuthorizeUrl(
            client, RedirectUri, "openid", Pkce.Create(), extra: new Dictionary<string, string> { ["response_type"] = responseType }));

        Assert.Equal("unsupported_response_type", query["error"]);
    }

    [Fact]
    public async Task Authorize_PromptNoneWithoutSession_RedirectsLoginRequired()
    {
        var client = await factory.RegisterClientAsync(RedirectUri);
        using var browser = factory.CreateBrowser();

        var response = await browser.Http.GetAsync(OAuthFlow.AuthorizeUrl(
            client.ClientId, RedirectUri, "openid", Pkce.Create(), extra: new Dictionary<string, string> { ["prompt"] = "none" }));

        var query = QueryHelpers.ParseQuery(TestBrowser.Location(response).Query);
        Assert.Equal("login_required", query["error"]);
        Assert.Equal("xyz-state", query["state"]);
    }

    [Theory]
    [InlineData("state")]
    [InlineData("nonce")]
    [InlineData("redirect_uri")]
    [InlineData("scope")]
    public async Task Authorize_OversizedParameter_IsRefusedWithoutServerError(string parameter)
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var client = await factory.RegisterClientAsync(RedirectUri);

        var response = await browser.Http.GetAsync(OAuthFlow.AuthorizeUrl(
            client.ClientId, RedirectUri, "openid", Pkce.Create(), extra: new Dictionary<string, string> { [parameter] = new string('a', 20_000) }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Contains("invalid_request", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Authorize_ManyParameters_IsRefusedWithoutServerError()
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var extra = Enumerable.Range(0, 2_000).ToDictionary(i => $"p{i}", i => "value-of-some-length");

        var response = await browser.Http.GetAsync(OAuthFlow.AuthorizeUrl("x", RedirectUri, "openid", Pkce.Create(), extra: extra));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private async Task<Dictionary<string, Microsoft.Extensions.Primitives.StringValues>> AuthorizeExpectingRedirectedErrorAsync(
        Func<string, string> url, string[]? scopes = null)
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var client = await factory.RegisterClientAsync(RedirectUri, false, scopes ?? []);

        var response = await browser.Http.GetAsync(url(client.ClientId));

        var location = TestBrowser.Location(response);
        Assert.Equal(RedirectUri, location.GetLeftPart(UriPartial.Path));

        // Implicit and hybrid response types answer in the fragment, the code flow in the query.
        var query = QueryHelpers.ParseQuery(location.Fragment.Length > 1 ? location.Fragment[1..] : location.Query);
        Assert.Equal("xyz-state", query["state"]);
        Assert.Equal("https://localhost/", query["iss"]);
        Assert.False(query.ContainsKey("code"));
        return query;
    }
}
