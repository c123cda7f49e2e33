using AuthServer.Tests.Infrastructure;
using Microsoft.Playwright;

namespace AuthServer.Browser.Tests;

/// <summary>Steps on the server's pages that several browser tests take.</summary>
internal static class Pages
{
    /// <summary>
    /// For a wait on an app's redirect, which lands on a page nobody serves: the address is what counts, so the wait
    /// ends when the navigation commits rather than at a load event (which timed out in CI waiting for network idle).
    /// </summary>
    public static readonly PageWaitForURLOptions AtCommit = new() { WaitUntil = WaitUntilState.Commit };

    /// <summary>
    /// Signs up on the register page, signs in on the page it leads to, and waits for the home page to greet the new
    /// account. It waits for that text, not for the page's load event: Playwright's wait for a URL that is already
    /// current then waits for the load state, which timed out once in CI (30 s, "NetworkIdle event fired") although
    /// the page had arrived.
    /// </summary>
    public static async Task SignUpAsync(IPage page, IMailbox mailbox, string email, string? name)
    {
        await page.GotoAsync("/account/register");
        await page.FillAsync("#Input_Email", email);
        if (name is not null)
        {
            await page.FillAsync("#Input_Name", name);
        }

        await page.FillAsync("#Input_Password", "a long enough password");
        await page.FillAsync("#Input_ConfirmPassword", "a long enough password");
        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync("text=your account is ready");
        await page.FillAsync("#Input_Email", email);
        await page.FillAsync("#Input_Password", "a long enough password");
        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync($"text=You are signed in as {email}");
        Assert.Equal("/", new Uri(page.Url).AbsolutePath);
        await ConfirmEmailAsync(page, mailbox, email);
    }

    /// <summary>Opens the confirmation link of the email the server sent and presses its button.</summary>
    public static async Task ConfirmEmailAsync(IPage page, IMailbox mailbox, string email)
    {
        var message = await mailbox.WaitForAsync(email, subject: OAuthFlow.ConfirmationSubject);
        await page.GotoAsync(Mailboxes.LinkTo(message, "/account/confirm-email").PathAndQuery);
        await page.ClickAsync("#confirm-form button");
        await page.WaitForSelectorAsync("text=Your address is confirmed");

        // Back on the home page, where sign-up used to end.
        await page.GotoAsync("/");
        await page.WaitForSelectorAsync($"text=You are signed in as {email}");
    }
}
