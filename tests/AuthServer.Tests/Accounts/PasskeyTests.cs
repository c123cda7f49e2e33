using System.Net;
using AngleSharp.Html.Dom;
using AuthServer.Tests.Infrastructure;

namespace AuthServer.Tests.Accounts;

/// <summary>
/// Passkeys from the security page and the sign-in page, answered by a software authenticator (ES256, the JSON a
/// browser sends): added, named, listed, used to sign in without a password as a second factor, removed; and what
/// must be refused: another challenge, another host, a replayed answer, garbage, another account's passkey.
/// </summary>
public sealed class PasskeyTests
{
    private const string Origin = "https://localhost";

    [Fact]
    public async Task APasskey_SignsInWithoutThePassword_AndCountsAsASecondFactorForAdmins()
    {
        await using var server = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
        {
            ["Accounts:RequireTwoFactorForAdmins"] = "true",
        });
        using var admin = await OAuthFlow.SignedInAdminAsync(server);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.Http.GetAsync("/admin/audit")).StatusCode);
        using var authenticator = new SoftwareAuthenticator(Origin);
        var added = await AddAsync(admin, authenticator, "Work laptop");
        Assert.Equal(HttpStatusCode.Redirect, added.StatusCode);

        var (_, security) = await admin.GetPageAsync("/account/security");
        var listed = Assert.Single(security.QuerySelectorAll("ul.passkeys li"));
        Assert.Equal("Work laptop", listed.QuerySelector(".passkey-name")!.TextContent);
        Assert.Equal(authenticator.CredentialIdText, listed.GetAttribute("data-id"));
        var email = security.QuerySelector(".who")!.TextContent;
        await server.Mailbox.WaitForAsync(email, subject: "A passkey was added to your account");

        // A new browser signs in with the passkey alone, and that session counts as one with a second factor.
        using var other = server.CreateBrowser();
        var signedIn = await SignInAsync(other, authenticator);
        Assert.Equal("/", TestBrowser.Location(signedIn).OriginalString);
        Assert.Equal(HttpStatusCode.OK, (await other.GetPageAsync("/dashboard/keys")).Response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await other.Http.GetAsync("/admin/audit")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.Http.GetAsync("/admin/audit")).StatusCode);
    }

    [Fact]
    public async Task APasskey_IsRenamed_AndOnceRemovedNoLongerSignsIn()
    {
        await using var server = new AuthServerFactory();
        var email = OAuthFlow.NewEmail();
        using var browser = await OAuthFlow.SignedUpBrowserAsync(server, email);
        using var authenticator = new SoftwareAuthenticator(Origin);
        Assert.Equal(HttpStatusCode.Redirect, (await AddAsync(browser, authenticator, "")).StatusCode);

        var (_, page) = await browser.GetPageAsync("/account/security");
        Assert.Equal("Passkey", page.QuerySelector(".passkey-name")!.TextContent);
        await browser.SubmitAsync(page, new Dictionary<string, string> { ["passkeyName"] = "  Phone  " }, "form.rename-passkey");
        (_, page) = await browser.GetPageAsync("/account/security");
        Assert.Equal("Phone", page.QuerySelector(".passkey-name")!.TextContent);

        // Another account cannot rename or remove it.
        using var stranger = await OAuthFlow.SignedUpBrowserAsync(server);
        var (_, theirs) = await stranger.GetPageAsync("/account/security");
        var refused = await stranger.Http.PostAsync("/account/security?handler=RemovePasskey", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["id"] = authenticator.CredentialIdText,
            ["__RequestVerificationToken"] = Token(theirs, "#passkey-add-form"),
        }));
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        using (var before = server.CreateBrowser())
        {
            Assert.Equal(HttpStatusCode.Redirect, (await SignInAsync(before, authenticator)).StatusCode);
        }

        (_, page) = await browser.GetPageAsync("/account/security");
        Assert.Equal(HttpStatusCode.Redirect, (await browser.SubmitAsync(page, new Dictionary<string, string>(), "form.remove-passkey")).StatusCode);
        await server.Mailbox.WaitForAsync(email, subject: "A passkey was removed from your account");
        (_, page) = await browser.GetPageAsync("/account/security");
        Assert.NotNull(page.QuerySelector("#no-passkeys"));
        using var after = server.CreateBrowser();
        Assert.Equal(HttpStatusCode.BadRequest, (await SignInAsync(after, authenticator)).StatusCode);
    }

    [Fact]
    public async Task BadAnswers_AreRefusedWithTheReason_NeverA500()
    {
        await using var server = new AuthServerFactory();
        using var browser = await OAuthFlow.SignedUpBrowserAsync(server);
        using var authenticator = new SoftwareAuthenticator(Origin);

        // No challenge was asked for; then garbage; then an answer from a page on another origin.
        var (_, page) = await browser.GetPageAsync("/account/security");
        var noChallenge = await browser.SubmitAsync(page, new Dictionary<string, string> { ["credentialJson"] = "{}" }, "#passkey-add-form");
        await AssertRefusedAsync(browser, noChallenge, "expired");
        await OptionsAsync(browser, "/account/security", "#passkey-add-form");
        (_, page) = await browser.GetPageAsync("/account/security");
        await AssertRefusedAsync(browser, await browser.SubmitAsync(page, new Dictionary<string, string> { ["credentialJson"] = "not json" }, "#passkey-add-form"), "not added");
        using var phishing = new SoftwareAuthenticator("https://evil.example");
        var options = await OptionsAsync(browser, "/account/security", "#passkey-add-form");
        (_, page) = await browser.GetPageAsync("/account/security");
        await AssertRefusedAsync(browser, await browser.SubmitAsync(page, new Dictionary<string, string> { ["credentialJson"] = phishing.Create(options) }, "#passkey-add-form"), "not added");

        Assert.Equal(HttpStatusCode.Redirect, (await AddAsync(browser, authenticator, "Key")).StatusCode);

        // Sign-in: an answer for another host, an answer replayed, an answer without its challenge.
        using var other = server.CreateBrowser();
        var request = await OptionsAsync(other, "/account/login", "#passkey-form");
        var (_, login) = await other.GetPageAsync("/account/login");
        var wrongHost = await other.SubmitAsync(login, new Dictionary<string, string> { ["credentialJson"] = authenticator.Get(request, rpId: "evil.example") }, "#passkey-form");
        Assert.Equal(HttpStatusCode.BadRequest, wrongHost.StatusCode);

        request = await OptionsAsync(other, "/account/login", "#passkey-form");
        var answer = authenticator.Get(request);
        (_, login) = await other.GetPageAsync("/account/login");
        Assert.Equal(HttpStatusCode.Redirect, (await other.SubmitAsync(login, new Dictionary<string, string> { ["credentialJson"] = answer }, "#passkey-form")).StatusCode);

        using var replay = server.CreateBrowser();
        await OptionsAsync(replay, "/account/login", "#passkey-form");
        var (_, again) = await replay.GetPageAsync("/account/login");
        Assert.Equal(HttpStatusCode.BadRequest, (await replay.SubmitAsync(again, new Dictionary<string, string> { ["credentialJson"] = answer }, "#passkey-form")).StatusCode);
        using var bare = server.CreateBrowser();
        var (_, bareLogin) = await bare.GetPageAsync("/account/login");
        var (refused, shown) = await bare.ParseAsync(await bare.SubmitAsync(bareLogin, new Dictionary<string, string> { ["credentialJson"] = answer }, "#passkey-form"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("passkey did not sign you in", shown.QuerySelector(".errors")!.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailedPasskeySignIns_CountTowardsTheAddressLimit()
    {
        await using var server = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
        {
            ["RateLimits:SignInFailuresPerMinute"] = "3",
        });
        using var browser = server.CreateBrowser();
        using var stranger = new SoftwareAuthenticator(Origin);
        stranger.Create("""{"rp":{"id":"localhost"},"user":{"id":"bm9ib2R5"},"challenge":"AAAA"}""");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await SignInAsync(browser, stranger)).StatusCode);
        }

        var limited = await SignInAsync(browser, stranger);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.NotNull(limited.Headers.RetryAfter);
    }

    /// <summary>Asks for the options and answers them from the security page, as the page's script does.</summary>
    internal static async Task<HttpResponseMessage> AddAsync(TestBrowser browser, SoftwareAuthenticator authenticator, string name)
    {
        var options = await OptionsAsync(browser, "/account/security", "#passkey-add-form");
        var (_, page) = await browser.GetPageAsync("/account/security");
        return await browser.SubmitAsync(page, new Dictionary<string, string>
        {
            ["credentialJson"] = authenticator.Create(options),
            ["passkeyName"] = name,
        }, "#passkey-add-form");
    }

    internal static async Task<HttpResponseMessage> SignInAsync(TestBrowser browser, SoftwareAuthenticator authenticator, string path = "/account/login")
    {
        var options = await OptionsAsync(browser, path, "#passkey-form");
        var (_, page) = await browser.GetPageAsync(path);
        return await browser.SubmitAsync(page, new Dictionary<string, string> { ["credentialJson"] = authenticator.Get(options) }, "#passkey-form");
    }

    /// <summary>Posts the form's antiforgery token to its <c>data-options</c> URL and returns the JSON options.</summary>
    private static async Task<string> OptionsAsync(TestBrowser browser, string path, string form)
    {
        var (_, page) = await browser.GetPageAsync(path);
        var url = page.QuerySelector(form)!.GetAttribute("data-options")!;
        var response = await browser.Http.PostAsync(url, new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = Token(page, form) }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync();
    }

    private static string Token(IHtmlDocument page, string form) =>
        ((IHtmlInputElement)page.QuerySelector($"{form} input[name=__RequestVerificationToken]")!).Value;

    private static async Task AssertRefusedAsync(TestBrowser browser, HttpResponseMessage response, string reason)
    {
        var (refused, page) = await browser.ParseAsync(response);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains(reason, page.QuerySelector(".errors")!.TextContent, StringComparison.Ordinal);
        Assert.Null(page.QuerySelector("ul.passkeys"));
    }
}
