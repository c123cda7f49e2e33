using Microsoft.Playwright;

namespace AuthServer.Browser.Tests;

/// <summary>The API reference page renders the server's OpenAPI document in a real browser, within its CSP.</summary>
public sealed class ApiReferenceBrowserTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task ReferencePage_RendersTheDocument_WithNothingRefusedByItsPolicy()
    {
        Assert.SkipWhen(fixture.SkipReason is not null, fixture.SkipReason ?? "");
        await using var context = await fixture.Browser!.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        var refused = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.Ordinal))
            {
                refused.Add(message.Text);
            }
        };

        await page.GotoAsync("/docs/api");
        await page.GetByText("The models the platform serves").First.WaitForAsync(new LocatorWaitForOptions { Timeout = 30_000 });

        Assert.Contains("AuthServer platform and admin API", await page.ContentAsync(), StringComparison.Ordinal);
        Assert.Empty(refused);
    }
}
