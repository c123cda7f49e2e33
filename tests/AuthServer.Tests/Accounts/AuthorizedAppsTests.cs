using System.Net;
using AuthServer.Tests.Infrastructure;

namespace AuthServer.Tests.Accounts;

/// <summary>A person sees the apps they authorized and can take the access back.</summary>
public sealed class AuthorizedAppsTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    [Fact]
    public async Task Revoke_EndsTheAuthorizationAndEveryTokenItIssued()
    {
        var (browser, client, tokens) = await OAuthFlow.FullFlowAsync(factory);
        using (browser)
        {
            var (_, page) = await browser.GetPageAsync("/account/apps");
            var row = Assert.Single(page.QuerySelectorAll("tr[data-authorization-id]"));
            Assert.Contains("Test App", row.TextContent, StringComparison.Ordinal);
            Assert.Contains("read", row.TextContent, StringComparison.Ordinal);

            var revoked = await browser.SubmitAsync(page, new Dictionary<string, string>(), "form.revoke");
            Assert.Equal(HttpStatusCode.Redirect, revoked.StatusCode);

            // The refresh token is dead, introspection says the access token is too, and the app must ask again.
            using var api = factory.CreateApiClient();
            Assert.Equal("invalid_grant", (await OAuthFlow.RefreshAsync(api, client, tokens.RefreshToken!)).Error);
            using var introspect = new HttpRequestMessage(HttpMethod.Post, "/oauth/introspect")
            {
                Headers = { Authorization = OAuthFlow.Basic(client) },
                Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = tokens.AccessToken }),
            };
            Assert.Contains("\"active\":false", (await (await api.SendAsync(introspect)).Content.ReadAsStringAsync()).Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);

            var (again, consent) = await browser.GetPageAsync(OAuthFlow.AuthorizeUrl(client.ClientId, "https://app.example/callback", "openid read", Pkce.Create()));
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
            Assert.NotNull(consent.QuerySelector("button[name='submit.Accept']"));

            var (_, after) = await browser.GetPageAsync("/account/apps");
            Assert.Empty(after.QuerySelectorAll("tr[data-authorization-id]"));
        }
    }

    [Fact]
    public async Task Revoke_AnotherUsersAuthorization_IsNotFound()
    {
        var (owner, _, _) = await OAuthFlow.FullFlowAsync(factory);
        string authorizationId;
        using (owner)
        {
            var (_, page) = await owner.GetPageAsync("/account/apps");
            authorizationId = page.QuerySelector("tr[data-authorization-id]")!.GetAttribute("data-authorization-id")!;
        }

        using var attacker = await OAuthFlow.SignedUpBrowserAsync(factory);
        var (_, own) = await attacker.GetPageAsync("/account/apps");
        var token = own.QuerySelector("input[name=__RequestVerificationToken]")?.GetAttribute("value");
        token ??= (await attacker.GetPageAsync("/dashboard/keys")).Page.QuerySelector("input[name=__RequestVerificationToken]")!.GetAttribute("value")!;

        var response = await attacker.Http.PostAsync($"/account/apps?handler=Revoke&id={authorizationId}", new FormUrlEncodedContent(
            new Dictionary<string, string> { ["__RequestVerificationToken"] = token }));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
