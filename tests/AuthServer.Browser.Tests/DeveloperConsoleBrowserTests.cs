using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Playwright;

namespace AuthServer.Browser.Tests;

/// <summary>
/// The developer's console in Chromium, following the platform's documentation: an app registered on the dashboard
/// with <c>read write</c> runs the documented flow to <c>/v1/user/profile</c>; the pages say who is asking; the
/// getting-started checklist ticks itself; the copy buttons copy.
/// </summary>
public sealed class DeveloperConsoleBrowserTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task AnAppRegisteredOnTheDashboard_WithReadWrite_RunsTheDocumentedFlow_AndTheChecklistTicks()
    {
        Assert.SkipWhen(fixture.SkipReason is not null, fixture.SkipReason ?? "");
        await using var context = await fixture.Browser!.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fixture.BaseAddress.ToString(),
            Permissions = ["clipboard-read", "clipboard-write"],
        });
        var page = await context.NewPageAsync();
        page.Dialog += async (_, dialog) => await dialog.AcceptAsync();
        await Pages.SignUpAsync(page, fixture.Server.Mailbox, $"ada-{Guid.NewGuid():N}@example.com", "Ada Lovelace");
        Assert.Equal(4, await page.Locator(".checklist li.todo").CountAsync());

        // Register the app: read is preselected (least privilege), write is chosen.
        var redirect = new Uri(fixture.BaseAddress, "callback").ToString();
        await page.GotoAsync("/dashboard/apps");
        Assert.True(await page.IsCheckedAsync("input[name='Form.Scopes'][value='read']"));
        Assert.False(await page.IsCheckedAsync("input[name='Form.Scopes'][value='write']"));
        await page.FillAsync("#Form_Name", "Docs App");
        await page.FillAsync("#Form_RedirectUris", redirect);
        await page.CheckAsync("input[name='Form.Scopes'][value='write']");
        await page.FillAsync("#Form_PolicyUri", "https://docs-app.example/privacy");
        await page.ClickAsync("text=Register app");
        var clientId = (await page.TextContentAsync("#client-id"))!.Trim();
        var secret = (await page.TextContentAsync("#client-secret"))!.Trim();

        // The copy buttons put the values on the clipboard.
        await page.ClickAsync("button[data-copy='client-id']");
        Assert.Equal(clientId, await page.EvaluateAsync<string>("navigator.clipboard.readText()"));
        await page.ClickAsync("button[data-copy='client-secret']");
        Assert.Equal(secret, await page.EvaluateAsync<string>("navigator.clipboard.readText()"));

        // The list shows the type and the scopes; the app's page has the flow with its own values filled in.
        await page.GotoAsync("/dashboard/apps");
        var row = page.Locator($"tr[data-client-id='{clientId}']");
        Assert.Contains("confidential", await row.TextContentAsync() ?? "", StringComparison.Ordinal);
        Assert.Contains("read write", await row.Locator(".scope-list").TextContentAsync() ?? "", StringComparison.Ordinal);
        await row.Locator("a", new LocatorLocatorOptions { HasText = "Docs App" }).ClickAsync();
        var sample = await page.TextContentAsync("#flow-sample") ?? "";
        Assert.Contains($"client_id={clientId}", sample, StringComparison.Ordinal);
        Assert.Contains(Uri.EscapeDataString(redirect), sample, StringComparison.Ordinal);

        // The documentation's request, `scope=read write`: the consent page names the app and its developer.
        var (verifier, challenge) = Pkce();
        await page.GotoAsync(AuthorizeUrl(clientId, redirect, "openid read write", challenge));
        Assert.Contains("Docs App", await page.TextContentAsync("h1") ?? "", StringComparison.Ordinal);
        Assert.Contains("Ada Lovelace", await page.TextContentAsync(".app-developer") ?? "", StringComparison.Ordinal);
        Assert.Contains("Not verified by the platform", await page.TextContentAsync(".app-developer") ?? "", StringComparison.Ordinal);
        Assert.Equal("https://docs-app.example/privacy", await page.GetAttributeAsync(".app-links a", "href"));
        Assert.Contains("Change your data", await page.TextContentAsync("li[data-scope='write']") ?? "", StringComparison.Ordinal);
        await page.ClickAsync("button[name='submit.Accept']");
        await page.WaitForURLAsync(url => url.StartsWith(redirect, StringComparison.Ordinal), Pages.AtCommit);
        var code = QueryHelpers.ParseQuery(new Uri(page.Url).Query)["code"].ToString();

        using var http = new HttpClient { BaseAddress = fixture.BaseAddress };
        using var exchange = new HttpRequestMessage(HttpMethod.Post, "oauth/token")
        {
            Headers = { Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{clientId}:{secret}"))) },
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "authorization_code",
                ["code"] = code,
                ["redirect_uri"] = redirect,
                ["code_verifier"] = verifier,
            }),
        };
        using var tokens = JsonDocument.Parse(await (await http.SendAsync(exchange)).Content.ReadAsStringAsync());
        Assert.Contains("write", tokens.RootElement.GetProperty("scope").GetString()!.Split(' '));
        using var profile = new HttpRequestMessage(HttpMethod.Get, "v1/user/profile")
        {
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", tokens.RootElement.GetProperty("access_token").GetString()) },
        };
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(profile)).StatusCode);

        // A scope the app did not choose comes back to the app as invalid_scope.
        await page.GotoAsync(AuthorizeUrl(clientId, redirect, "openid email", Pkce().Challenge));
        await page.WaitForURLAsync(url => url.StartsWith(redirect, StringComparison.Ordinal), Pages.AtCommit);
        Assert.Equal("invalid_scope", QueryHelpers.ParseQuery(new Uri(page.Url).Query)["error"].ToString());

        // The checklist: an app and an authorization so far; then a key and a first call.
        await page.GotoAsync("/");
        Assert.Equal("done", await page.GetAttributeAsync("li[data-step='app']", "class"));
        Assert.Equal("done", await page.GetAttributeAsync("li[data-step='authorization']", "class"));
        Assert.Equal("todo", await page.GetAttributeAsync("li[data-step='key']", "class"));
        await page.GotoAsync("/dashboard/keys");
        await page.FillAsync("#Name", "first key");
        await page.ClickAsync("text=Create new API key");
        var key = (await page.TextContentAsync("#new-key"))!.Trim();
        await page.GotoAsync("/");
        Assert.Equal("done", await page.GetAttributeAsync("li[data-step='key']", "class"));
        Assert.Contains(key[..8], await page.TextContentAsync("#first-call-sample") ?? "", StringComparison.Ordinal);
        using var call = new HttpRequestMessage(HttpMethod.Get, "v1/models") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", key) } };
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(call)).StatusCode);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await page.GetAttributeAsync("li[data-step='call']", "class") != "done")
        {
            Assert.True(DateTime.UtcNow < deadline, "The first call was not ticked within 20 s.");
            await Task.Delay(500);
            await page.ReloadAsync();
        }
    }

    [Fact]
    public async Task SignInReachedFromAnAuthorizationRequest_NamesTheApp()
    {
        Assert.SkipWhen(fixture.SkipReason is not null, fixture.SkipReason ?? "");
        await using var context = await fixture.Browser!.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        await Pages.SignUpAsync(page, fixture.Server.Mailbox, $"dev-{Guid.NewGuid():N}@example.com", "Dev");
        var redirect = new Uri(fixture.BaseAddress, "callback").ToString();
        await page.GotoAsync("/dashboard/apps");
        await page.FillAsync("#Form_Name", "Named App");
        await page.FillAsync("#Form_RedirectUris", redirect);
        await page.ClickAsync("text=Register app");
        var clientId = (await page.TextContentAsync("#client-id"))!.Trim();

        // Someone else, not signed in, follows the app's link.
        await using var visitor = await fixture.Browser!.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseAddress.ToString() });
        var other = await visitor.NewPageAsync();
        await other.GotoAsync(AuthorizeUrl(clientId, redirect, "openid read", Pkce().Challenge));
        Assert.Equal("/account/login", new Uri(other.Url).AbsolutePath);
        Assert.Equal("Named App", (await other.TextContentAsync(".signin-for .app-name"))?.Trim());
    }

    private static string AuthorizeUrl(string clientId, string redirect, string scope, string challenge) =>
        QueryHelpers.AddQueryString("/oauth/authorize", new Dictionary<string, string?>
        {
            ["response_type"] = "code",
            ["client_id"] = clientId,
            ["redirect_uri"] = redirect,
            ["scope"] = scope,
            ["state"] = "docs-state",
            ["code_challenge"] = challenge,
            ["code_challenge_method"] = "S256",
        });

    private static (string Verifier, string Challenge) Pkce()
    {
        var verifier = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        return (verifier, Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
    }
}
