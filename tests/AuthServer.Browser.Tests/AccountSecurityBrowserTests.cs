using AuthServer.Tests.Infrastructure;
using Microsoft.Playwright;

namespace AuthServer.Browser.Tests;

/// <summary>
/// The account's second factor in Chromium: sign up and confirm from the email (inside <see cref="Pages.SignUpAsync"/>),
/// turn the authenticator on with a code computed here, then sign in again through the second step, with a code, with a
/// recovery code, and from an app's authorization request; a passkey from Chromium's virtual authenticator; a
/// forgotten password reset from the email.
/// </summary>
public sealed class AccountSecurityBrowserTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private const string Password = "a long enough password";
    private const string NewPassword = "another long enough password";

    [Fact]
    public async Task TurningOnTheAuthenticator_AddsASecondStepToSignIn_AndARecoveryCodeWorks()
    {
        Assert.SkipWhen(fixture.SkipReason is not null, fixture.SkipReason ?? "");
        await using var context = await fixture.Browser!.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        var email = $"totp-{Guid.NewGuid():N}@example.com";
        await Pages.SignUpAsync(page, fixture.Server.Mailbox, email, "Katherine Johnson");

        await page.GotoAsync("/account/security");
        await page.ClickAsync("text=Set one up");
        Assert.True(await page.Locator(".qr svg").IsVisibleAsync());
        var key = (await page.TextContentAsync("#shared-key"))!.Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant();
        await page.FillAsync("#Code", AuthenticatorCodes.Next(key));
        await page.ClickAsync("#enable-form button");
        await page.WaitForSelectorAsync("#recovery-codes");
        var codes = await page.Locator("#recovery-codes code").AllTextContentsAsync();
        Assert.Equal(10, codes.Count);

        // A new browser: password, then the code.
        await using var second = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseAddress.ToString() });
        var other = await second.NewPageAsync();
        await SignInAsync(other, email);
        await other.WaitForSelectorAsync("#code-form");
        await other.FillAsync("#Code", AuthenticatorCodes.Next(key));
        await other.ClickAsync("#code-form button");
        await other.WaitForSelectorAsync($"text=You are signed in as {email}");

        // Another: password, then a recovery code.
        await using var third = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseAddress.ToString() });
        var lost = await third.NewPageAsync();
        await SignInAsync(lost, email);
        await lost.ClickAsync("text=Use a recovery code");
        await lost.FillAsync("#RecoveryCode", codes[0]);
        await lost.ClickAsync("#recovery-form button");
        await lost.WaitForSelectorAsync($"text=You are signed in as {email}");

        // An app's authorization request: password, code, consent, and back at the app's redirect URI with a code.
        var redirect = new Uri(fixture.BaseAddress, "callback").ToString();
        await page.GotoAsync("/dashboard/apps");
        await page.FillAsync("#Form_Name", "Second Step App");
        await page.FillAsync("#Form_RedirectUris", redirect);
        await page.ClickAsync("text=Register app");
        var clientId = (await page.TextContentAsync("#client-id"))!.Trim();
        await using var fourth = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseAddress.ToString() });
        var app = await fourth.NewPageAsync();
        await app.GotoAsync(OAuthFlow.AuthorizeUrl(clientId, redirect, "openid read", Pkce.Create(), state: "second-step"));
        await app.FillAsync("#Input_Email", email);
        await app.FillAsync("#Input_Password", Password);
        await app.ClickAsync("main form:not(#passkey-form) button[type=submit]");
        await app.FillAsync("#Code", AuthenticatorCodes.Next(key));
        await app.ClickAsync("#code-form button");
        await app.ClickAsync("button[name='submit.Accept']");
        await app.WaitForURLAsync(url => url.StartsWith(redirect, StringComparison.Ordinal), Pages.AtCommit);
        var answer = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(app.Url).Query);
        Assert.Equal("second-step", answer["state"].ToString());
        Assert.False(string.IsNullOrEmpty(answer["code"].ToString()));
    }

    [Fact]
    public async Task AForgottenPassword_IsResetFromTheEmail_AndTheOldSessionIsSignedOut()
    {
        Assert.SkipWhen(fixture.SkipReason is not null, fixture.SkipReason ?? "");
        await using var first = await fixture.Browser!.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseAddress.ToString() });
        var old = await first.NewPageAsync();
        var email = $"reset-{Guid.NewGuid():N}@example.com";
        await Pages.SignUpAsync(old, fixture.Server.Mailbox, email, "Grace Hopper");

        // Elsewhere, the password forgotten.
        await using var second = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.BaseAddress.ToString() });
        var page = await second.NewPageAsync();
        await page.GotoAsync("/account/login");
        await page.ClickAsync("text=Forgot your password?");
        await page.FillAsync("#Input_Email", email);
        await page.ClickAsync("main button[type=submit]");
        await page.WaitForSelectorAsync("text=We sent a message");
        var message = await fixture.Server.Mailbox.WaitForAsync(email, subject: "Reset your password");
        await page.GotoAsync(Mailboxes.LinkTo(message, "/account/reset-password").PathAndQuery);
        await page.FillAsync("#Input_Password", NewPassword);
        await page.FillAsync("#Input_ConfirmPassword", NewPassword);
        await page.ClickAsync("main button[type=submit]");
        await page.WaitForSelectorAsync("text=Your password was changed");

        // The session from before the reset is over; the new password signs in.
        await old.GotoAsync("/dashboard/keys");
        Assert.Equal("/account/login", new Uri(old.Url).AbsolutePath);
        await page.FillAsync("#Input_Email", email);
        await page.FillAsync("#Input_Password", NewPassword);
        await page.ClickAsync("main form:not(#passkey-form) button[type=submit]");
        await page.WaitForSelectorAsync($"text=You are signed in as {email}");
    }

    [Fact]
    public async Task APasskeyMadeByTheBrowsersAuthenticator_SignsIn_AndIsRemoved()
    {
        Assert.SkipWhen(fixture.SkipReason is not null, fixture.SkipReason ?? "");

        // WebAuthn binds a passkey to a host name, never to an IP address: this test uses localhost.
        var site = new UriBuilder(fixture.BaseAddress) { Host = "localhost" }.Uri;
        await using var context = await fixture.Browser!.NewContextAsync(new BrowserNewContextOptions { BaseURL = site.ToString() });
        var page = await context.NewPageAsync();
        page.Dialog += async (_, dialog) => await dialog.AcceptAsync();
        var cdp = await context.NewCDPSessionAsync(page);
        await cdp.SendAsync("WebAuthn.enable");
        await cdp.SendAsync("WebAuthn.addVirtualAuthenticator", new Dictionary<string, object>
        {
            ["options"] = new Dictionary<string, object>
            {
                ["protocol"] = "ctap2",
                ["transport"] = "internal",
                ["hasResidentKey"] = true,
                ["hasUserVerification"] = true,
                ["isUserVerified"] = true,
                ["automaticPresenceSimulation"] = true,
            },
        });

        var email = $"passkey-{Guid.NewGuid():N}@example.com";
        await Pages.SignUpAsync(page, fixture.Server.Mailbox, email, "Ada Lovelace");
        await page.GotoAsync("/account/security");
        await page.FillAsync("#passkeyName", "Virtual authenticator");
        await page.ClickAsync("#passkey-add-form button");
        await page.WaitForURLAsync("**/account/security?**");
        Assert.True(await page.Locator("text=Your passkey is added").IsVisibleAsync(), await page.Locator("main").InnerTextAsync());
        Assert.Equal("Virtual authenticator", await page.TextContentAsync("ul.passkeys .passkey-name"));

        // Signed out, the passkey alone signs in again.
        await page.ClickAsync("header button:has-text('Sign out')");
        await page.GotoAsync("/account/login");
        await page.ClickAsync("#passkey-form button");
        await page.WaitForSelectorAsync($"text=You are signed in as {email}");

        await page.GotoAsync("/account/security");
        await page.ClickAsync("form.remove-passkey button");
        await page.WaitForSelectorAsync("#no-passkeys");
        await page.ClickAsync("header button:has-text('Sign out')");
        await page.GotoAsync("/account/login");
        await page.ClickAsync("#passkey-form button");
        await page.WaitForSelectorAsync("text=That passkey did not sign you in");
    }

    private static async Task SignInAsync(IPage page, string email)
    {
        await page.GotoAsync("/account/login");
        await page.FillAsync("#Input_Email", email);
        await page.FillAsync("#Input_Password", Password);
        await page.ClickAsync("button[type=submit]");
    }
}
