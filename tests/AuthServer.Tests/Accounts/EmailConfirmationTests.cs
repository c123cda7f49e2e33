using System.Net;
using AuthServer.Data;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.Accounts;

/// <summary>
/// The address confirmed at sign-up, on a real SMTP server: what an unconfirmed account may not do (keys, apps, letting
/// an app in), the link that lifts it, and the links that must not.
/// </summary>
public sealed class EmailConfirmationTests(SmtpServer smtp) : IClassFixture<SmtpServer>
{
    private const string Issuer = "https://auth.test/";

    [Fact]
    public async Task AnUnconfirmedAccount_SignsIn_ButCreatesNothing_UntilTheLinkInTheEmailIsFollowed()
    {
        Assert.SkipWhen(smtp.SkipReason is not null, smtp.SkipReason ?? "");
        await using var server = Server();
        var client = await server.RegisterClientAsync(scopes: ["openid", "read"]);
        using var browser = server.CreateBrowser();
        var email = OAuthFlow.NewEmail();
        await browser.RegisterAsync(email, OAuthFlow.Password);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.SignInAsync(email, OAuthFlow.Password)).StatusCode);

        // Signed in, but no key, no app, no consent.
        var (keysPage, keys) = await browser.GetPageAsync("/dashboard/keys");
        Assert.Equal(HttpStatusCode.OK, keysPage.StatusCode);
        Assert.NotNull(keys.QuerySelector("#confirm-email-notice"));
        var refusedKey = await browser.SubmitAsync(keys, new Dictionary<string, string> { ["Name"] = "k", ["Scopes"] = "read" }, formSelector: "#create-key");
        Assert.Equal(HttpStatusCode.Forbidden, refusedKey.StatusCode);
        Assert.Contains("Confirm your email address first", await refusedKey.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var (_, apps) = await browser.GetPageAsync("/dashboard/apps");
        var refusedApp = await browser.SubmitAsync(apps, new Dictionary<string, string>
        {
            ["Form.Name"] = "Mine",
            ["Form.RedirectUris"] = "https://mine.example/cb",
        }, formSelector: "#create-app");
        Assert.Equal(HttpStatusCode.Forbidden, refusedApp.StatusCode);

        var pkce = Pkce.Create();
        var authorize = OAuthFlow.AuthorizeUrl(client.ClientId, "https://app.example/callback", "openid read", pkce);
        var (stopped, stoppedPage) = await browser.GetPageAsync(authorize);
        Assert.Equal(HttpStatusCode.Forbidden, stopped.StatusCode);
        Assert.Null(stoppedPage.QuerySelector("button[name='submit.Accept']"));
        var silent = TestBrowser.Location((await browser.GetPageAsync(authorize + "&prompt=none")).Response);
        Assert.Equal("consent_required", QueryHelpers.ParseQuery(silent.Query)["error"]);

        // The email: an absolute link on the issuer, in text and HTML.
        var message = await smtp.WaitForAsync(email, subject: OAuthFlow.ConfirmationSubject);
        var link = Mailboxes.LinkTo(message, "/account/confirm-email");
        Assert.StartsWith(Issuer + "account/confirm-email?", link.AbsoluteUri, StringComparison.Ordinal);
        Assert.Contains(WebUtility.HtmlEncode(link.AbsoluteUri), message.HtmlBody, StringComparison.Ordinal);

        // Opening the link confirms nothing (a mail scanner may fetch it); the button does.
        var (opened, _) = await browser.GetPageAsync(link.PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, opened.StatusCode);
        Assert.False(await IsConfirmedAsync(server, email));
        await OAuthFlow.ConfirmEmailAsync(browser, email);
        Assert.True(await IsConfirmedAsync(server, email));

        // This session knows at once: a key, and the app's consent page.
        Assert.StartsWith("aip_", await Dashboard.CreateKeyAsync(browser), StringComparison.Ordinal);
        Assert.NotNull((await browser.GetPageAsync(authorize)).Page.QuerySelector("button[name='submit.Accept']"));
        await using var scope = server.Services.CreateAsyncScope();
        Assert.True(await scope.ServiceProvider.GetRequiredService<AuthDbContext>().AuditEvents.AnyAsync(audit => audit.Action == "account.email_confirmed"));
    }

    [Fact]
    public async Task SigningUpWithATakenAddress_AnswersTheSame_AndOnlyThatMailboxIsTold()
    {
        Assert.SkipWhen(smtp.SkipReason is not null, smtp.SkipReason ?? "");
        await using var server = Server();
        var taken = OAuthFlow.NewEmail();
        (await OAuthFlow.SignedUpBrowserAsync(server, taken)).Dispose();

        using var browser = server.CreateBrowser();
        var again = await browser.RegisterAsync(taken, "somebody else's password");
        var fresh = await browser.RegisterAsync(OAuthFlow.NewEmail(), "somebody else's password");
        Assert.Equal(TestBrowser.Location(fresh).OriginalString, TestBrowser.Location(again).OriginalString);

        var note = await smtp.WaitForAsync(taken, subject: "You already have an account");
        Assert.StartsWith(Issuer + "account/login", Mailboxes.LinkTo(note, "/account/login").AbsoluteUri, StringComparison.Ordinal);
        Assert.Single(smtp.MessagesTo(taken), message => message.Subject == OAuthFlow.ConfirmationSubject);
        Assert.Equal(HttpStatusCode.OK, (await browser.SignInAsync(taken, "somebody else's password")).StatusCode);
    }

    [Fact]
    public async Task AnotherAccountsLink_ATamperedOne_OrNone_IsRefused()
    {
        Assert.SkipWhen(smtp.SkipReason is not null, smtp.SkipReason ?? "");
        await using var server = Server();
        using var browser = server.CreateBrowser();
        var email = OAuthFlow.NewEmail();
        var other = OAuthFlow.NewEmail();
        await browser.RegisterAsync(email, OAuthFlow.Password);
        await browser.RegisterAsync(other, OAuthFlow.Password);
        var link = Mailboxes.LinkTo(await smtp.WaitForAsync(email, subject: OAuthFlow.ConfirmationSubject), "/account/confirm-email");
        var otherLink = Mailboxes.LinkTo(await smtp.WaitForAsync(other, subject: OAuthFlow.ConfirmationSubject), "/account/confirm-email");
        var query = QueryHelpers.ParseQuery(link.Query);
        var otherUser = QueryHelpers.ParseQuery(otherLink.Query)["user"].ToString();

        foreach (var bad in new[]
                 {
                     $"/account/confirm-email?user={otherUser}&code={query["code"]}",
                     $"/account/confirm-email?user={query["user"]}&code={query["code"].ToString()[..^4]}AAAA",
                     $"/account/confirm-email?user={query["user"]}&code=%%%",
                     $"/account/confirm-email?user=nobody&code={query["code"]}",
                 })
        {
            var (response, page) = await browser.GetPageAsync(bad);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.NotNull(page.QuerySelector("[role=alert]"));
        }

        // Posting another account's code to this account's form changes nothing either.
        var (_, form) = await browser.GetPageAsync(link.PathAndQuery);
        var forged = await browser.SubmitAsync(form, new Dictionary<string, string> { ["User"] = otherUser });
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.False(await IsConfirmedAsync(server, email));
        Assert.False(await IsConfirmedAsync(server, other));

        // Without a link and without a session: the sign-in page.
        using var stranger = server.CreateBrowser();
        Assert.Contains("/account/login", TestBrowser.Location((await stranger.GetPageAsync("/account/confirm-email")).Response).OriginalString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheLinkCanBeSentAgain_AFewTimesAMinute()
    {
        Assert.SkipWhen(smtp.SkipReason is not null, smtp.SkipReason ?? "");
        await using var server = Server();
        using var browser = server.CreateBrowser();
        var email = OAuthFlow.NewEmail();
        await browser.RegisterAsync(email, OAuthFlow.Password);
        await browser.SignInAsync(email, OAuthFlow.Password);

        for (var i = 0; i < 3; i++)
        {
            var (_, page) = await browser.GetPageAsync("/account/confirm-email");
            Assert.Equal(HttpStatusCode.Redirect, (await browser.SubmitAsync(page, new Dictionary<string, string>())).StatusCode);
        }

        var (_, last) = await browser.GetPageAsync("/account/confirm-email");
        var limited = await browser.SubmitAsync(last, new Dictionary<string, string>());
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.NotNull(limited.Headers.RetryAfter);

        // One at sign-up and three more; any of them confirms.
        var fourth = await smtp.WaitForAsync(email, count: 4, subject: OAuthFlow.ConfirmationSubject);
        var (_, form) = await browser.GetPageAsync(Mailboxes.LinkTo(fourth, "/account/confirm-email").PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, (await browser.SubmitAsync(form, new Dictionary<string, string>())).StatusCode);
        Assert.True(await IsConfirmedAsync(server, email));
    }

    [Fact]
    public async Task WithRequireConfirmedEmailOff_AnUnconfirmedAccountCreatesKeys()
    {
        await using var server = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
        {
            ["Accounts:RequireConfirmedEmail"] = "false",
        });
        using var browser = server.CreateBrowser();
        var email = OAuthFlow.NewEmail();
        await browser.RegisterAsync(email, OAuthFlow.Password);
        await browser.SignInAsync(email, OAuthFlow.Password);

        Assert.Null((await browser.GetPageAsync("/dashboard/keys")).Page.QuerySelector("#confirm-email-notice"));
        Assert.StartsWith("aip_", await Dashboard.CreateKeyAsync(browser), StringComparison.Ordinal);
        Assert.False(await IsConfirmedAsync(server, email));
    }

    private ConfiguredAuthServerFactory Server() => new(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>(smtp.Settings)
    {
        ["OAuth:Issuer"] = Issuer,
    })
    {
        Mailbox = smtp,
    };

    private static async Task<bool> IsConfirmedAsync(ConfiguredAuthServerFactory server, string email)
    {
        await using var scope = server.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AuthDbContext>().Users
            .Where(user => user.Email == email).Select(user => user.EmailConfirmed).SingleAsync();
    }
}
