using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace AuthServer.Browser.Tests;

/// <summary>The documentation's first steps, in a real browser: sign up, create a key, use it, revoke it.</summary>
public sealed class ApiKeyBrowserTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task Developer_SignsUpCreatesKeyCallsModelsRevokesKey_CallFails()
    {
        Assert.SkipWhen(fixture.SkipReason is not null, fixture.SkipReason ?? "");
        await using var context = await fixture.Browser!.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        var email = $"dev-{Guid.NewGuid():N}@example.com";

        await Pages.SignUpAsync(page, fixture.Server.Mailbox, email, "Grace Hopper");

        // Open the API keys page from the navigation and create a key.
        await page.ClickAsync("text=API keys");
        await page.FillAsync("#Name", "browser key");
        await page.ClickAsync("text=Create new API key");
        var key = (await page.TextContentAsync("#new-key"))!.Trim();
        Assert.StartsWith("aip_", key, StringComparison.Ordinal);
        Assert.Contains("will not be shown again", await page.TextContentAsync(".new-key") ?? "", StringComparison.Ordinal);

        // Call the platform API with it, over real HTTP.
        using var http = new HttpClient { BaseAddress = fixture.BaseAddress };
        Assert.Equal(HttpStatusCode.OK, (await GetModelsAsync(http, key)).StatusCode);

        // The key is listed (never in full), then revoked after confirming.
        await page.GotoAsync("/dashboard/keys");
        var row = page.Locator("tr[data-key-id]", new PageLocatorOptions { HasText = "browser key" });
        Assert.Contains($"{key[..8]}…{key[^4..]}", await row.TextContentAsync() ?? "", StringComparison.Ordinal);
        Assert.DoesNotContain(key, await page.ContentAsync(), StringComparison.Ordinal);

        page.Dialog += async (_, dialog) => await dialog.AcceptAsync();
        await row.Locator("button:has-text('Revoke')").ClickAsync();
        await page.WaitForSelectorAsync("text=The key was revoked");
        Assert.Equal("revoked", await page.Locator("tr[data-key-id]", new PageLocatorOptions { HasText = "browser key" }).GetAttributeAsync("data-status"));

        // The call now fails.
        using var refused = await GetModelsAsync(http, key);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task Developer_SeesUsageChartWithTierAfterCalls()
    {
        Assert.SkipWhen(fixture.SkipReason is not null, fixture.SkipReason ?? "");
        await using var context = await fixture.Browser!.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        await Pages.SignUpAsync(page, fixture.Server.Mailbox, $"dev-{Guid.NewGuid():N}@example.com", name: null);
        await page.ClickAsync("text=API keys");
        await page.FillAsync("#Name", "chart key");
        await page.ClickAsync("text=Create new API key");
        var key = (await page.TextContentAsync("#new-key"))!.Trim();

        using var http = new HttpClient { BaseAddress = fixture.BaseAddress };
        for (var i = 0; i < 3; i++)
        {
            using var response = await GetModelsAsync(http, key);
            Assert.Equal("100", response.Headers.GetValues("X-RateLimit-Limit").Single());
        }

        await fixture.Server.Services.GetRequiredService<AuthServer.Usage.UsageMeter>().FlushAsync(CancellationToken.None);
        await page.ClickAsync("nav >> text=Usage");

        Assert.True(await page.IsVisibleAsync("#usage-chart"));
        Assert.Contains("free", await page.TextContentAsync("#tier") ?? "", StringComparison.Ordinal);
        var titles = await page.Locator("#usage-chart g.bar title").AllTextContentsAsync();
        Assert.Contains(titles, title => title.Contains("3 requests (3 ok", StringComparison.Ordinal));
        Assert.Contains("chart key", await page.TextContentAsync("#by-credential") ?? "", StringComparison.Ordinal);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "authserver-usage.png"), FullPage = true });
    }

    private static async Task<HttpResponseMessage> GetModelsAsync(HttpClient http, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await http.SendAsync(request);
    }
}
