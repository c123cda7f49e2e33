using System.Net;
using AuthServer.Data;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.Accounts;

/// <summary>
/// The authenticator app as second factor: set up from the page with codes computed here (RFC 6238, Otp.NET), the
/// second sign-in step, recovery codes that work once, wrong codes that lock the account, the authorization-code flow
/// through the step, and admins who must use it.
/// </summary>
public sealed class TwoFactorTests
{
    [Fact]
    public async Task TurningItOn_AsksForACodeAtSignIn_AndARecoveryCodeWorksOnce()
    {
        await using var server = new AuthServerFactory();
        var email = OAuthFlow.NewEmail();
        using var browser = await OAuthFlow.SignedUpBrowserAsync(server, email);
        var (key, codes) = await EnableAsync(browser);
        Assert.Equal(10, codes.Count);
        Assert.Equal("A second factor was added to your account", (await server.Mailbox.WaitForAsync(email, subject: "A second factor was added to your account")).Subject);

        // The codes are kept hashed, never as shown.
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var stored = await scope.ServiceProvider.GetRequiredService<AuthDbContext>().UserTokens
                .Where(token => token.Name == "RecoveryCodes").Select(token => token.Value).SingleAsync();
            Assert.All(codes, code => Assert.DoesNotContain(code, stored!, StringComparison.OrdinalIgnoreCase));

            // The authenticator key is kept encrypted, never as the app was given it.
            var storedKey = await scope.ServiceProvider.GetRequiredService<AuthDbContext>().UserTokens
                .Where(token => token.Name == "AuthenticatorKey").Select(token => token.Value).SingleAsync();
            Assert.DoesNotContain(key, storedKey!, StringComparison.OrdinalIgnoreCase);
        }

        // The password alone leads to the second step, not into the account.
        using var other = server.CreateBrowser();
        var step = TestBrowser.Location(await other.SignInAsync(email, OAuthFlow.Password));
        Assert.StartsWith("/account/login-two-factor", step.OriginalString, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, (await other.GetPageAsync("/dashboard/keys")).Response.StatusCode);

        var (_, page) = await other.GetPageAsync(step.OriginalString);
        var wrong = await other.SubmitAsync(page, new Dictionary<string, string> { ["Code"] = "000000" == AuthenticatorCodes.Current(key) ? "111111" : "000000" }, "#code-form");
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        (_, page) = await other.GetPageAsync(step.OriginalString);
        var code = AuthenticatorCodes.Next(key);
        Assert.Equal("/", TestBrowser.Location(await other.SubmitAsync(page, new Dictionary<string, string> { ["Code"] = Spaced(code) }, "#code-form")).OriginalString);
        Assert.Equal(HttpStatusCode.OK, (await other.GetPageAsync("/dashboard/keys")).Response.StatusCode);

        // The same code, seen over a shoulder, does not work again (RFC 6238 §5.2).
        using var onlooker = server.CreateBrowser();
        var (_, onlookerStep) = await onlooker.GetPageAsync(TestBrowser.Location(await onlooker.SignInAsync(email, OAuthFlow.Password)).OriginalString);
        Assert.Equal(HttpStatusCode.BadRequest, (await onlooker.SubmitAsync(onlookerStep, new Dictionary<string, string> { ["Code"] = code }, "#code-form")).StatusCode);

        // A recovery code, once.
        using var lost = server.CreateBrowser();
        Assert.Equal(HttpStatusCode.Redirect, (await RecoverAsync(lost, email, codes[3].ToLowerInvariant())).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await lost.GetPageAsync("/dashboard/keys")).Response.StatusCode);
        using var again = server.CreateBrowser();
        Assert.Equal(HttpStatusCode.BadRequest, (await RecoverAsync(again, email, codes[3])).StatusCode);
        var (_, manage) = await browser.GetPageAsync("/account/authenticator");
        Assert.Equal("9", manage.QuerySelector("#codes-left")!.TextContent);

        // Turning it off asks for the password; then the password alone signs in again.
        var refused = await browser.SubmitAsync(manage, new Dictionary<string, string> { ["Password"] = "not it" }, "#disable-form");
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        (_, manage) = await browser.GetPageAsync("/account/authenticator");
        Assert.Equal(HttpStatusCode.Redirect, (await browser.SubmitAsync(manage, new Dictionary<string, string> { ["Password"] = OAuthFlow.Password }, "#disable-form")).StatusCode);
        using var plain = server.CreateBrowser();
        Assert.Equal("/", TestBrowser.Location(await plain.SignInAsync(email, OAuthFlow.Password)).OriginalString);
        await server.Mailbox.WaitForAsync(email, subject: "A second factor was removed from your account");

        // On again at once, with a new key: its first code may be of the step the old key's last code had, and works.
        var (newKey, _) = await EnableAsync(browser);
        Assert.NotEqual(key, newKey);
    }

    [Fact]
    public async Task OneCodeSentAtOnceFromManyBrowsers_SignsInOnlyOne()
    {
        await using var server = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
        {
            ["Accounts:MaxFailedAccessAttempts"] = "50",
        });
        var email = OAuthFlow.NewEmail();
        using var owner = await OAuthFlow.SignedUpBrowserAsync(server, email);
        var (key, _) = await EnableAsync(owner);

        var browsers = Enumerable.Range(0, 8).Select(_ => server.CreateBrowser()).ToList();
        var steps = new List<AngleSharp.Html.Dom.IHtmlDocument>();
        foreach (var browser in browsers)
        {
            steps.Add((await browser.GetPageAsync(TestBrowser.Location(await browser.SignInAsync(email, OAuthFlow.Password)).OriginalString)).Page);
        }

        var code = AuthenticatorCodes.Next(key);
        var answers = await Task.WhenAll(browsers.Select((browser, i) =>
            browser.SubmitAsync(steps[i], new Dictionary<string, string> { ["Code"] = code }, "#code-form")));
        Assert.Single(answers, answer => answer.StatusCode == HttpStatusCode.Redirect);
        Assert.Equal(7, answers.Count(answer => answer.StatusCode == HttpStatusCode.BadRequest));
        browsers.ForEach(browser => browser.Dispose());
    }

    [Fact]
    public async Task LostSecondFactors_AreTurnedOffFromTheCli_EndingEverySession()
    {
        var path = TestDatabase.NewSqlitePath();
        await using var server = new ConfiguredAuthServerFactory(path, new Dictionary<string, string?>
        {
            ["Accounts:SessionCheckInterval"] = "00:00:00",
        });
        var email = OAuthFlow.NewEmail();
        using var browser = await OAuthFlow.SignedUpBrowserAsync(server, email);
        await EnableAsync(browser);
        using var authenticator = new SoftwareAuthenticator("https://localhost");
        Assert.Equal(HttpStatusCode.Redirect, (await PasskeyTests.AddAsync(browser, authenticator, "Lost phone")).StatusCode);

        var result = await CliRunner.RunAsync(path, new Dictionary<string, string> { ["OAuth__Issuer"] = "https://auth.test/" },
            "users", "reset-second-factors", "--email", email);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var output = System.Text.Json.JsonDocument.Parse(result.Stdout).RootElement;
        Assert.True(output.GetProperty("authenticator_was_on").GetBoolean());
        Assert.Equal(1, output.GetProperty("passkeys_removed").GetInt32());

        // The session ends; the password alone signs in again; the passkey no longer does; the person is told.
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetPageAsync("/dashboard/keys")).Response.StatusCode);
        using var again = server.CreateBrowser();
        Assert.Equal("/", TestBrowser.Location(await again.SignInAsync(email, OAuthFlow.Password)).OriginalString);
        using var holder = server.CreateBrowser();
        Assert.Equal(HttpStatusCode.BadRequest, (await PasskeyTests.SignInAsync(holder, authenticator)).StatusCode);
        var notice = await server.Mailbox.WaitForAsync(email, subject: "The second factors of your account were removed");
        Assert.Equal(new Uri("https://auth.test/account/security"), Mailboxes.LinkTo(notice, "/account/security"));

        var unknown = await CliRunner.RunAsync(path, "users", "reset-second-factors", "--email", "nobody@example.com");
        Assert.StartsWith("error: No account", unknown.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AKeyStoredBeforeKeysWereEncrypted_StillGivesWorkingCodes()
    {
        await using var server = new AuthServerFactory();
        var email = OAuthFlow.NewEmail();
        (await OAuthFlow.SignedUpBrowserAsync(server, email)).Dispose();
        const string plainKey = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
            var user = (await users.FindByEmailAsync(email))!;
            await ((IUserAuthenticatorKeyStore<ApplicationUser>)scope.ServiceProvider.GetRequiredService<IUserStore<ApplicationUser>>())
                .SetAuthenticatorKeyAsync(user, plainKey, CancellationToken.None);
            await users.SetTwoFactorEnabledAsync(user, true);
        }

        using var browser = server.CreateBrowser();
        var (_, step) = await browser.GetPageAsync(TestBrowser.Location(await browser.SignInAsync(email, OAuthFlow.Password)).OriginalString);
        Assert.Equal("/", TestBrowser.Location(await browser.SubmitAsync(step, new Dictionary<string, string> { ["Code"] = AuthenticatorCodes.Next(plainKey) }, "#code-form")).OriginalString);
    }

    [Fact]
    public async Task WrongCodes_LockTheAccount_LikeWrongPasswords()
    {
        await using var server = new AuthServerFactory();
        var email = OAuthFlow.NewEmail();
        using var browser = await OAuthFlow.SignedUpBrowserAsync(server, email);
        var (key, _) = await EnableAsync(browser);

        using var attacker = server.CreateBrowser();
        var step = TestBrowser.Location(await attacker.SignInAsync(email, OAuthFlow.Password)).OriginalString;
        var bad = AuthenticatorCodes.Current(key) == "123456" ? "654321" : "123456";
        for (var i = 0; i < 5; i++)
        {
            var (_, page) = await attacker.GetPageAsync(step);
            await attacker.SubmitAsync(page, new Dictionary<string, string> { ["Code"] = bad }, "#code-form");
        }

        var (_, last) = await attacker.GetPageAsync(step);
        var (locked, lockedPage) = await attacker.ParseAsync(await attacker.SubmitAsync(last, new Dictionary<string, string> { ["Code"] = AuthenticatorCodes.Next(key) }, "#code-form"));
        Assert.NotEqual(HttpStatusCode.Redirect, locked.StatusCode);
        Assert.Contains("paused", lockedPage.QuerySelector(".errors, [role=alert]")?.TextContent ?? await locked.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await using var scope = server.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        Assert.True(await users.IsLockedOutAsync((await users.FindByEmailAsync(email))!));
    }

    [Fact]
    public async Task TheCodeFlow_PassesThroughTheSecondStep_AndEndsAtTheRedirectUri()
    {
        await using var server = new AuthServerFactory();
        var client = await server.RegisterClientAsync(scopes: ["openid", "read"]);
        var email = OAuthFlow.NewEmail();
        string key;
        using (var setup = await OAuthFlow.SignedUpBrowserAsync(server, email))
        {
            (key, _) = await EnableAsync(setup);
        }

        using var browser = server.CreateBrowser();
        var pkce = Pkce.Create();
        var authorize = OAuthFlow.AuthorizeUrl(client.ClientId, "https://app.example/callback", "openid read", pkce);
        var signIn = TestBrowser.Location((await browser.GetPageAsync(authorize)).Response);
        var (_, signInPage) = await browser.GetPageAsync(signIn.PathAndQuery);
        var step = TestBrowser.Location(await browser.SubmitAsync(signInPage, new Dictionary<string, string>
        {
            ["Input.Email"] = email,
            ["Input.Password"] = OAuthFlow.Password,
        }));
        var (_, stepPage) = await browser.GetPageAsync(step.OriginalString);
        var back = TestBrowser.Location(await browser.SubmitAsync(stepPage, new Dictionary<string, string> { ["Code"] = AuthenticatorCodes.Next(key) }, "#code-form"));
        Assert.StartsWith("/oauth/authorize?", back.OriginalString, StringComparison.Ordinal);

        var redirect = await OAuthFlow.AuthorizeAsync(browser, back.OriginalString);
        Assert.StartsWith("https://app.example/callback?", redirect.AbsoluteUri, StringComparison.Ordinal);
        using var api = server.CreateApiClient();
        var tokens = await OAuthFlow.RedeemAsync(api, client, QueryHelpers.ParseQuery(redirect.Query)["code"].ToString(), pkce.Verifier);
        Assert.Equal(HttpStatusCode.OK, tokens.Status);
    }

    [Fact]
    public async Task AdminsMustUseTheSecondFactor_WhenRequired_AndARememberedBrowserCounts()
    {
        await using var server = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
        {
            ["Accounts:RequireTwoFactorForAdmins"] = "true",
        });
        using var admin = await OAuthFlow.SignedInAdminAsync(server);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.Http.GetAsync("/admin/audit")).StatusCode);

        var (key, _) = await EnableAsync(admin);
        Assert.Equal(HttpStatusCode.OK, (await admin.Http.GetAsync("/admin/audit")).StatusCode);

        // Signed in again with the code and "don't ask again": that browser later signs in with the password alone,
        // still as a session with its second factor.
        var email = await EmailOfAsync(admin);
        using var next = server.CreateBrowser();
        var step = TestBrowser.Location(await next.SignInAsync(email, OAuthFlow.Password)).OriginalString;
        var (_, page) = await next.GetPageAsync(step);
        await next.SubmitAsync(page, new Dictionary<string, string> { ["Code"] = AuthenticatorCodes.Next(key), ["RememberDevice"] = "true" }, "#code-form");
        Assert.Equal(HttpStatusCode.OK, (await next.Http.GetAsync("/admin/audit")).StatusCode);
        var (_, security) = await next.GetPageAsync("/account/security");
        await next.SubmitAsync(security, new Dictionary<string, string>(), "#sessions form");
        Assert.Equal("/", TestBrowser.Location(await next.SignInAsync(email, OAuthFlow.Password)).OriginalString);
        Assert.Equal(HttpStatusCode.OK, (await next.Http.GetAsync("/admin/audit")).StatusCode);
    }

    private static async Task<(string Key, List<string> RecoveryCodes)> EnableAsync(TestBrowser browser)
    {
        var (_, page) = await browser.GetPageAsync("/account/authenticator");
        var key = page.QuerySelector("#shared-key")!.TextContent.Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant();
        Assert.Contains("<svg", page.QuerySelector(".qr")!.InnerHtml, StringComparison.Ordinal);
        var (enabled, done) = await browser.ParseAsync(await browser.SubmitAsync(page, new Dictionary<string, string> { ["Code"] = AuthenticatorCodes.Next(key) }, "#enable-form"));
        Assert.Equal(HttpStatusCode.OK, enabled.StatusCode);
        Assert.True(enabled.Headers.CacheControl?.NoStore, "A page with recovery codes must not be stored.");
        return (key, [.. done.QuerySelectorAll("#recovery-codes code").Select(code => code.TextContent)]);
    }

    private static async Task<HttpResponseMessage> RecoverAsync(TestBrowser browser, string email, string code)
    {
        var step = TestBrowser.Location(await browser.SignInAsync(email, OAuthFlow.Password)).OriginalString;
        var (_, page) = await browser.GetPageAsync(step);
        return await browser.SubmitAsync(page, new Dictionary<string, string> { ["RecoveryCode"] = code }, "#recovery-form");
    }

    private static async Task<string> EmailOfAsync(TestBrowser browser)
    {
        var (_, page) = await browser.GetPageAsync("/");
        return page.QuerySelector("#signed-in-as")?.TextContent
            ?? throw new InvalidOperationException("The home page does not say who is signed in.");
    }


    private static string Spaced(string code) => code[..3] + " " + code[3..];
}
