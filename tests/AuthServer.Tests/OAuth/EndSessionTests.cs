using System.Net;
using AuthServer.Clients;
using AuthServer.Tests.Infrastructure;

namespace AuthServer.Tests.OAuth;

/// <summary><c>/oauth/logout</c>: the user confirms, is signed out, and goes back only to a registered URI.</summary>
public sealed class EndSessionTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    [Fact]
    public async Task Logout_RegisteredPostLogoutUri_SignsOutAndRedirectsThereWithState()
    {
        var client = await factory.RegisterAsync(new ClientRegistration(
            "Logout App", [new Uri("https://app.example/callback")], IsPublic: false, ["openid"],
            PostLogoutRedirectUris: [new Uri("https://app.example/signed-out")]));
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);

        var (page, confirm) = await browser.GetPageAsync(
            $"/oauth/logout?client_id={client.ClientId}&post_logout_redirect_uri={Uri.EscapeDataString("https://app.example/signed-out")}&state=bye");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var response = await browser.SubmitAsync(confirm, new Dictionary<string, string>());

        var location = TestBrowser.Location(response);
        Assert.Equal("https://app.example/signed-out", location.GetLeftPart(UriPartial.Path));
        Assert.Contains("state=bye", location.Query, StringComparison.Ordinal);
        var (_, home) = await browser.GetPageAsync("/");
        Assert.DoesNotContain("You are signed in", home.Body!.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logout_UnregisteredPostLogoutUri_ShowsErrorAndNeverRedirects()
    {
        var client = await factory.RegisterClientAsync();
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);

        var (response, page) = await browser.GetPageAsync(
            $"/oauth/logout?client_id={client.ClientId}&post_logout_redirect_uri={Uri.EscapeDataString("https://evil.example/")}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Equal("invalid_request", page.QuerySelector(".error-code")?.TextContent);
    }
}
