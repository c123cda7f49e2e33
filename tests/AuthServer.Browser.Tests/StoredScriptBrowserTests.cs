using Microsoft.Playwright;

namespace AuthServer.Browser.Tests;

/// <summary>
/// Names people choose are shown to other people: an app's name on the consent page and on "Authorized apps", a key's
/// name on the dashboard. Written into a page they must stay text, whatever they contain, and every page forbids
/// inline script.
/// </summary>
public sealed class StoredScriptBrowserTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    public static TheoryData<string> HostileNames =>
    [
        "x'+alert(document.domain)+'",
        "\"><img src=x onerror=alert(document.domain)>",
        "</script><script>alert(document.domain)</script>",
    ];

    [Theory]
    [MemberData(nameof(HostileNames))]
    public async Task HostileAppAndKeyNames_OnEveryPageThatShowsThem_RunNoScript(string name)
    {
        Assert.SkipWhen(fixture.SkipReason is not null, fixture.SkipReason ?? "");
        await using var context = await fixture.Browser!.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        var dialogs = new List<(string Type, string Message)>();
        page.Dialog += async (_, dialog) =>
        {
            dialogs.Add((dialog.Type, dialog.Message));
            await dialog.AcceptAsync();
        };
        var policies = new List<(string Url, string? Policy)>();
        page.Response += (_, response) =>
        {
            if (response.Headers.TryGetValue("content-type", out var type) && type.StartsWith("text/html", StringComparison.Ordinal))
            {
                policies.Add((response.Url, response.Headers.GetValueOrDefault("content-security-policy")));
            }
        };

        // A developer registers an app and a key with the name.
        await Pages.SignUpAsync(page, fixture.Server.Mailbox, $"dev-{Guid.NewGuid():N}@example.com", "Mallory");
        await page.GotoAsync("/dashboard/apps");
        await page.FillAsync("#Form_Name", name);
        await page.FillAsync("#Form_RedirectUris", new Uri(fixture.BaseAddress, "callback").ToString());
        await page.ClickAsync("text=Register app");
        var clientId = (await page.TextContentAsync("#client-id"))!.Trim();
        await page.GotoAsync("/dashboard/keys");
        await page.FillAsync("#Name", name);
        await page.ClickAsync("text=Create new API key");
        await page.WaitForSelectorAsync("#new-key");

        // The developer approves the app (the consent page shows its name), then sees it among authorized apps.
        var pkce = AuthServer.Tests.Infrastructure.Pkce.Create();
        await page.GotoAsync(AuthServer.Tests.Infrastructure.OAuthFlow.AuthorizeUrl(
            clientId, new Uri(fixture.BaseAddress, "callback").ToString(), "openid read", pkce));
        Assert.Equal(name, (await page.TextContentAsync(".app-name"))?.Trim());
        await page.ClickAsync("button[name='submit.Accept']");
        await page.WaitForURLAsync(url => url.Contains("/callback", StringComparison.Ordinal), Pages.AtCommit);

        // Every page where the name appears, and every button that confirms with it.
        await page.GotoAsync("/account/apps");
        await page.Locator("tr[data-authorization-id] button:has-text('Revoke')").ClickAsync();
        await page.WaitForSelectorAsync("text=Access revoked");
        await page.GotoAsync("/dashboard/keys");
        await page.Locator("tr[data-key-id] button:has-text('Revoke')").ClickAsync();
        await page.WaitForSelectorAsync("text=The key was revoked");
        await page.GotoAsync("/dashboard/usage");
        await page.GotoAsync("/dashboard/apps");
        await page.Locator("tr[data-client-id] button:has-text('Delete')").ClickAsync();
        await page.WaitForSelectorAsync("text=The app was deleted");

        Assert.All(dialogs, dialog =>
        {
            Assert.Equal("confirm", dialog.Type);
            Assert.Contains(name, dialog.Message, StringComparison.Ordinal);
        });
        Assert.Equal(3, dialogs.Count);
        Assert.NotEmpty(policies);
        Assert.All(policies, response =>
        {
            Assert.NotNull(response.Policy);
            Assert.Contains("script-src 'self'", response.Policy, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-inline", response.Policy, StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", response.Policy, StringComparison.Ordinal);
            Assert.Contains("base-uri 'none'", response.Policy, StringComparison.Ordinal);
            Assert.Contains("object-src 'none'", response.Policy, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task EveryPage_CarriesThePolicy_AndTheCopyButtonWorksUnderIt()
    {
        Assert.SkipWhen(fixture.SkipReason is not null, fixture.SkipReason ?? "");
        await using var context = await fixture.Browser!.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseAddress.ToString() });
        await context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"]);
        var page = await context.NewPageAsync();
        var violations = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.Ordinal))
            {
                violations.Add(page.Url + " " + message.Text);
            }
        };

        foreach (var path in new[] { "/", "/account/login", "/account/register", "/nothing-here", "/oauth/authorize?client_id=nope" })
        {
            var response = await page.GotoAsync(path);
            Assert.Contains("script-src 'self'", (await response!.AllHeadersAsync()).GetValueOrDefault("content-security-policy") ?? "", StringComparison.Ordinal);
        }

        await Pages.SignUpAsync(page, fixture.Server.Mailbox, $"dev-{Guid.NewGuid():N}@example.com", null);
        foreach (var path in new[] { "/dashboard/keys", "/dashboard/apps", "/dashboard/usage", "/account/apps" })
        {
            var response = await page.GotoAsync(path);
            Assert.Contains("script-src 'self'", (await response!.AllHeadersAsync()).GetValueOrDefault("content-security-policy") ?? "", StringComparison.Ordinal);
        }

        await page.GotoAsync("/dashboard/keys");
        await page.FillAsync("#Name", "copied key");
        await page.ClickAsync("text=Create new API key");
        await page.ClickAsync("#copy-key");
        await page.WaitForSelectorAsync("#copy-key:has-text('Copied')");
        Assert.Equal((await page.TextContentAsync("#new-key"))!.Trim(), await page.EvaluateAsync<string>("navigator.clipboard.readText()"));
        Assert.Empty(violations);
    }
}
