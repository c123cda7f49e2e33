using System.Net;
using AuthServer.Clients;
using AuthServer.Tests.Infrastructure;

namespace AuthServer.Tests.Clients;

/// <summary>A developer registers, rotates and deletes their own apps from the dashboard; nobody else's.</summary>
public sealed class DeveloperAppsTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    private const string RedirectUri = "https://dev.example/callback";

    [Fact]
    public async Task App_RegisteredOnDashboard_CompletesTheFlowWithTheSecretShownOnce()
    {
        using var developer = await OAuthFlow.SignedUpBrowserAsync(factory);

        var client = await RegisterAsync(developer, "My Dashboard App");

        var (_, list) = await developer.GetPageAsync("/dashboard/apps");
        Assert.Single(list.QuerySelectorAll($"tr[data-client-id='{client.ClientId}']"));
        Assert.DoesNotContain(client.ClientSecret!, list.Body!.InnerHtml, StringComparison.Ordinal);

        var pkce = Pkce.Create();
        var code = await OAuthFlow.GetCodeAsync(developer, OAuthFlow.AuthorizeUrl(client.ClientId, RedirectUri, "openid read", pkce));
        using var api = factory.CreateApiClient();
        Assert.Equal(HttpStatusCode.OK, (await OAuthFlow.RedeemAsync(api, client, code, pkce.Verifier, RedirectUri)).Status);
    }

    [Fact]
    public async Task App_BadRedirectUri_IsRefusedOnThePage()
    {
        using var developer = await OAuthFlow.SignedUpBrowserAsync(factory);
        var (_, page) = await developer.GetPageAsync("/dashboard/apps");

        var response = await developer.SubmitAsync(page, new Dictionary<string, string>
        {
            ["Form.Name"] = "Bad",
            ["Form.RedirectUris"] = "http://dev.example/callback",
            ["Form.IsPublic"] = "false",
            ["Form.Scopes"] = "read",
        }, "#create-app");

        Assert.Contains("loopback", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RotateSecret_WithoutGrace_OldSecretStops()
    {
        using var developer = await OAuthFlow.SignedUpBrowserAsync(factory);
        var client = await RegisterAsync(developer, "Rotating");
        var (_, page) = await developer.GetPageAsync("/dashboard/apps");

        var rotated = await developer.SubmitAsync(page, new Dictionary<string, string> { ["graceHours"] = "0" }, "form.rotate");
        var (_, result) = await developer.ParseAsync(rotated);
        var secret = result.QuerySelector("#client-secret")!.TextContent;

        using var api = factory.CreateApiClient();
        Assert.Equal("invalid_client", (await OAuthFlow.RefreshAsync(api, client, "x")).Error);
        Assert.Equal("invalid_grant", (await OAuthFlow.RefreshAsync(api, client with { ClientSecret = secret }, "x")).Error);
    }

    [Fact]
    public async Task OtherDevelopers_CannotSeeRotateOrDeleteTheApp()
    {
        using var owner = await OAuthFlow.SignedUpBrowserAsync(factory);
        var client = await RegisterAsync(owner, "Private");
        using var other = await OAuthFlow.SignedUpBrowserAsync(factory);
        var (_, page) = await other.GetPageAsync("/dashboard/apps");
        Assert.Empty(page.QuerySelectorAll("tr[data-client-id]"));
        var token = page.QuerySelector("input[name=__RequestVerificationToken]")!.GetAttribute("value")!;

        foreach (var handler in new[] { "Rotate", "Delete" })
        {
            var response = await other.Http.PostAsync($"/dashboard/apps?handler={handler}&id={client.ClientId}", new FormUrlEncodedContent(
                new Dictionary<string, string> { ["__RequestVerificationToken"] = token, ["graceHours"] = "0" }));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        using var api = factory.CreateApiClient();
        Assert.Equal("invalid_grant", (await OAuthFlow.RefreshAsync(api, client, "x")).Error);
    }

    [Fact]
    public async Task Delete_RemovesTheAppAndItsCredentialsStopWorking()
    {
        using var developer = await OAuthFlow.SignedUpBrowserAsync(factory);
        var client = await RegisterAsync(developer, "Short-lived");
        var (_, page) = await developer.GetPageAsync("/dashboard/apps");

        var deleted = await developer.SubmitAsync(page, new Dictionary<string, string>(), "form.delete");

        Assert.Equal(HttpStatusCode.Redirect, deleted.StatusCode);
        using var api = factory.CreateApiClient();
        Assert.Equal("invalid_client", (await OAuthFlow.RefreshAsync(api, client, "x")).Error);
        var (_, after) = await developer.GetPageAsync("/dashboard/apps");
        Assert.Empty(after.QuerySelectorAll("tr[data-client-id]"));
    }

    private static async Task<RegisteredClient> RegisterAsync(TestBrowser developer, string name)
    {
        var (_, page) = await developer.GetPageAsync("/dashboard/apps");
        var response = await developer.SubmitAsync(page, new Dictionary<string, string>
        {
            ["Form.Name"] = name,
            ["Form.RedirectUris"] = RedirectUri,
            ["Form.IsPublic"] = "false",
            ["Form.Scopes"] = "read",
        }, "#create-app");
        var (_, result) = await developer.ParseAsync(response);
        Assert.True(response.Headers.CacheControl?.NoStore);
        return new RegisteredClient(
            result.QuerySelector("#client-id")?.TextContent ?? throw new InvalidOperationException(result.QuerySelector(".errors")?.TextContent),
            result.QuerySelector("#client-secret")!.TextContent);
    }
}
