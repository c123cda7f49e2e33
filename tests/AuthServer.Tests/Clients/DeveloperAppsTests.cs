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

    [Fact]
    public async Task App_EditedOnItsPage_AsksForTheNewScopes_AndShowsItsLinksOnConsent()
    {
        using var developer = await OAuthFlow.SignedUpBrowserAsync(factory);
        var client = await RegisterAsync(developer, "Before");
        var path = $"/dashboard/apps/{client.ClientId}";

        // Registered with read only: write is refused as the app asks for it.
        var pkce = Pkce.Create();
        var refused = await OAuthFlow.AuthorizeAsync(developer, OAuthFlow.AuthorizeUrl(client.ClientId, RedirectUri, "openid write", pkce));
        Assert.Contains("error=invalid_scope", refused.Query, StringComparison.Ordinal);

        var (_, page) = await developer.GetPageAsync(path);
        Assert.Contains($"client_id={client.ClientId}", page.QuerySelector("#flow-sample")!.TextContent, StringComparison.Ordinal);
        var saved = await developer.Http.PostAsync(path, Form(page,
            ("Form.Name", "After"), ("Form.RedirectUris", RedirectUri), ("Form.IsPublic", "false"),
            ("Form.Scopes", "openid"), ("Form.Scopes", "read"), ("Form.Scopes", "write"),
            ("Form.PolicyUri", "https://dev.example/privacy"), ("Form.TosUri", "https://dev.example/terms")));
        Assert.Equal(HttpStatusCode.Redirect, saved.StatusCode);

        var (_, list) = await developer.GetPageAsync("/dashboard/apps");
        var row = list.QuerySelector($"tr[data-client-id='{client.ClientId}']")!;
        Assert.Contains("After", row.TextContent, StringComparison.Ordinal);
        Assert.Equal("openid read write", row.QuerySelector(".scope-list")!.TextContent.Trim());

        var (_, consent) = await developer.GetPageAsync(OAuthFlow.AuthorizeUrl(client.ClientId, RedirectUri, "openid read write", pkce));
        Assert.Contains("After", consent.QuerySelector("h1")!.TextContent, StringComparison.Ordinal);
        Assert.Contains("Not verified by the platform", consent.QuerySelector(".app-developer")!.TextContent, StringComparison.Ordinal);
        Assert.Equal(
            ["https://dev.example/privacy", "https://dev.example/terms"],
            consent.QuerySelectorAll(".app-links a").Select(link => link.GetAttribute("href")!).ToArray());
    }

    [Theory]
    [InlineData("Form.PolicyUri", "http://dev.example/privacy")]
    [InlineData("Form.LogoUri", "javascript:alert(1)")]
    [InlineData("Form.Scopes", "admin")]
    public async Task App_Edit_WithABadLinkOrScope_IsRefused_AndNothingChanges(string field, string value)
    {
        using var developer = await OAuthFlow.SignedUpBrowserAsync(factory);
        var client = await RegisterAsync(developer, "Unchanged");
        var path = $"/dashboard/apps/{client.ClientId}";
        var (_, page) = await developer.GetPageAsync(path);

        var response = await developer.Http.PostAsync(path, Form(page,
            ("Form.Name", "Changed"), ("Form.RedirectUris", RedirectUri), ("Form.IsPublic", "false"), ("Form.Scopes", "openid"), (field, value)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (_, answer) = await developer.ParseAsync(response);
        Assert.False(string.IsNullOrWhiteSpace(answer.QuerySelector(".errors")?.TextContent));
        var (_, list) = await developer.GetPageAsync("/dashboard/apps");
        Assert.Contains("Unchanged", list.QuerySelector($"tr[data-client-id='{client.ClientId}']")!.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnotherDevelopersApp_CannotBeSeenOrEdited()
    {
        using var owner = await OAuthFlow.SignedUpBrowserAsync(factory);
        var client = await RegisterAsync(owner, "Mine");
        using var other = await OAuthFlow.SignedUpBrowserAsync(factory);

        var (seen, page) = await other.GetPageAsync($"/dashboard/apps/{client.ClientId}");
        Assert.Equal(HttpStatusCode.NotFound, seen.StatusCode);
        var (_, own) = await other.GetPageAsync("/dashboard/apps");
        var edited = await other.Http.PostAsync($"/dashboard/apps/{client.ClientId}", Form(own,
            ("Form.Name", "Theirs"), ("Form.RedirectUris", RedirectUri), ("Form.IsPublic", "false"), ("Form.Scopes", "openid")));
        Assert.Equal(HttpStatusCode.NotFound, edited.StatusCode);
    }

    private static FormUrlEncodedContent Form(AngleSharp.Html.Dom.IHtmlDocument page, params (string Name, string Value)[] fields) =>
        new([
            new("__RequestVerificationToken", page.QuerySelector("input[name=__RequestVerificationToken]")!.GetAttribute("value")!),
            .. fields.Select(field => new KeyValuePair<string, string>(field.Name, field.Value)),
        ]);

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
