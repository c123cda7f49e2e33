using System.Net;
using AuthServer.Data;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.Accounts;

/// <summary>
/// "Forgot password?" end to end, on a real SMTP server: the message that arrives, the link it holds, the new password,
/// the sessions it ends, and a mail server that goes away.
/// </summary>
public sealed class PasswordResetTests(SmtpServer smtp) : IClassFixture<SmtpServer>
{
    private const string Issuer = "https://auth.test/";
    private const string NewPassword = "a completely new passphrase";

    [Fact]
    public async Task TheLinkInTheEmail_SetsANewPassword_EndsOtherSessions_AndWorksOnce()
    {
        Assert.SkipWhen(smtp.SkipReason is not null, smtp.SkipReason ?? "");
        await using var server = Server();
        var email = OAuthFlow.NewEmail();
        using var signedIn = await OAuthFlow.SignedUpBrowserAsync(server, email);
        Assert.Equal(HttpStatusCode.OK, (await signedIn.GetPageAsync("/dashboard/keys")).Response.StatusCode);

        using var browser = server.CreateBrowser();
        var (answer, page) = await AskAsync(browser, email);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Contains("We sent a message", page.QuerySelector("[role=status]")!.TextContent, StringComparison.Ordinal);

        var message = await smtp.WaitForAsync(email, subject: "Reset your password");
        Assert.Equal("Reset your password", message.Subject);
        Assert.Equal("no-reply@auth.test", message.From.Mailboxes.Single().Address);
        var link = Mailboxes.LinkTo(message, "/account/reset-password");
        Assert.StartsWith(Issuer + "account/reset-password?", link.AbsoluteUri, StringComparison.Ordinal);
        Assert.Contains(WebUtility.HtmlEncode(link.AbsoluteUri), message.HtmlBody, StringComparison.Ordinal);

        var (form, resetPage) = await browser.GetPageAsync(link.PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, form.StatusCode);
        var done = await browser.SubmitAsync(resetPage, new Dictionary<string, string>
        {
            ["Input.Password"] = NewPassword,
            ["Input.ConfirmPassword"] = NewPassword,
        });
        Assert.Equal("/account/login?Reset=true", TestBrowser.Location(done).OriginalString);

        // The old password no longer signs in, the new one does, and the session from before is over.
        using var other = server.CreateBrowser();
        Assert.Equal(HttpStatusCode.OK, (await other.SignInAsync(email, OAuthFlow.Password)).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await other.SignInAsync(email, NewPassword)).StatusCode);
        var (before, _) = await signedIn.GetPageAsync("/dashboard/keys");
        Assert.Contains("/account/login?ReturnUrl=", TestBrowser.Location(before).OriginalString, StringComparison.Ordinal);

        // The link works once.
        var (again, againPage) = await browser.GetPageAsync(link.PathAndQuery);
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        Assert.Contains("This link is not valid", againPage.QuerySelector("[role=alert]")!.TextContent, StringComparison.Ordinal);

        await using var scope = server.Services.CreateAsyncScope();
        Assert.True(await scope.ServiceProvider.GetRequiredService<AuthDbContext>().AuditEvents
            .AnyAsync(audit => audit.Action == "account.password_reset" && audit.Target != null));
    }

    [Fact]
    public async Task ExpiredLinks_ResetAndConfirmation_AreRefused()
    {
        Assert.SkipWhen(smtp.SkipReason is not null, smtp.SkipReason ?? "");
        await using var server = Server();

        // Links that live a second (the setting's floor is five minutes, so the option is set under it here).
        await using var shortLived = server.WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
            services.PostConfigure<DataProtectionTokenProviderOptions>(options => options.TokenLifespan = TimeSpan.FromSeconds(1))));
        using var browser = new TestBrowser(shortLived.CreateClient(new WebApplicationFactoryClientOptions
        {
            AllowAutoRedirect = false,
            BaseAddress = new Uri("https://localhost"),
        }));
        var email = OAuthFlow.NewEmail();
        await browser.RegisterAsync(email, OAuthFlow.Password);
        var confirm = Mailboxes.LinkTo(await smtp.WaitForAsync(email, subject: OAuthFlow.ConfirmationSubject), "/account/confirm-email");
        await AskAsync(browser, email);
        var reset = Mailboxes.LinkTo(await smtp.WaitForAsync(email, subject: "Reset your password"), "/account/reset-password");

        await Task.Delay(TimeSpan.FromSeconds(2));
        foreach (var link in new[] { confirm, reset })
        {
            var (response, page) = await browser.GetPageAsync(link.PathAndQuery);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.NotNull(page.QuerySelector("[role=alert]"));
        }

        await using var scope = shortLived.Services.CreateAsyncScope();
        var user = await scope.ServiceProvider.GetRequiredService<AuthDbContext>().Users.SingleAsync(user => user.Email == email);
        Assert.False(user.EmailConfirmed);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.SignInAsync(email, OAuthFlow.Password)).StatusCode);
    }

    [Fact]
    public async Task AnAddressWithoutAccount_GetsTheSameAnswer_AndOnlyItsMailboxLearnsThereIsNone()
    {
        Assert.SkipWhen(smtp.SkipReason is not null, smtp.SkipReason ?? "");
        await using var server = Server();
        var known = OAuthFlow.NewEmail();
        (await OAuthFlow.SignedUpBrowserAsync(server, known)).Dispose();
        var unknown = OAuthFlow.NewEmail();

        using var browser = server.CreateBrowser();
        var (knownAnswer, knownPage) = await AskAsync(browser, known);
        var (unknownAnswer, unknownPage) = await AskAsync(browser, unknown);

        Assert.Equal(knownAnswer.StatusCode, unknownAnswer.StatusCode);
        Assert.Equal(
            knownPage.QuerySelector("main")!.TextContent.Replace(known, "@", StringComparison.Ordinal),
            unknownPage.QuerySelector("main")!.TextContent.Replace(unknown, "@", StringComparison.Ordinal));
        var note = await smtp.WaitForAsync(unknown);
        Assert.Contains("no account", note.Subject, StringComparison.Ordinal);
        Assert.StartsWith(Issuer + "account/register", Mailboxes.LinkTo(note, "/account/register").AbsoluteUri, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATamperedLink_OrAnotherAccountsLink_IsRefused()
    {
        Assert.SkipWhen(smtp.SkipReason is not null, smtp.SkipReason ?? "");
        await using var server = Server();
        var email = OAuthFlow.NewEmail();
        (await OAuthFlow.SignedUpBrowserAsync(server, email)).Dispose();
        var otherEmail = OAuthFlow.NewEmail();
        (await OAuthFlow.SignedUpBrowserAsync(server, otherEmail)).Dispose();
        using var browser = server.CreateBrowser();
        await AskAsync(browser, email);
        await AskAsync(browser, otherEmail);
        var link = Mailboxes.LinkTo(await smtp.WaitForAsync(email, subject: "Reset your password"), "/account/reset-password");
        var otherLink = Mailboxes.LinkTo(await smtp.WaitForAsync(otherEmail, subject: "Reset your password"), "/account/reset-password");

        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(link.Query);
        var otherUser = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(otherLink.Query)["user"].ToString();
        foreach (var bad in new[]
                 {
                     $"/account/reset-password?user={otherUser}&code={query["code"]}",
                     $"/account/reset-password?user={query["user"]}&code={query["code"].ToString()[..^4]}AAAA",
                     $"/account/reset-password?user={query["user"]}&code=%%%",
                     "/account/reset-password",
                 })
        {
            var (response, page) = await browser.GetPageAsync(bad);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.NotNull(page.QuerySelector("[role=alert]"));
        }
    }

    [Fact]
    public async Task RequestsForOneAddress_AreLimited()
    {
        Assert.SkipWhen(smtp.SkipReason is not null, smtp.SkipReason ?? "");
        await using var server = Server();
        using var browser = server.CreateBrowser();
        var email = OAuthFlow.NewEmail();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await AskAsync(browser, email)).Response.StatusCode);
        }

        var (limited, _) = await AskAsync(browser, email);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.NotNull(limited.Headers.RetryAfter);
    }

    [Fact]
    public async Task TheMailServerDown_DelaysTheMessage_NeverLosesIt_NorFailsTheRequest()
    {
        Assert.SkipWhen(smtp.SkipReason is not null, smtp.SkipReason ?? "");
        await using var server = Server();
        var email = OAuthFlow.NewEmail();
        (await OAuthFlow.SignedUpBrowserAsync(server, email)).Dispose();
        using var browser = server.CreateBrowser();

        await smtp.StopAsync();
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await AskAsync(browser, email)).Response.StatusCode);
            await Poll.UntilAsync(TimeSpan.FromSeconds(20), async () =>
            {
                await using var scope = server.Services.CreateAsyncScope();
                return await scope.ServiceProvider.GetRequiredService<AuthDbContext>().OutboxMessages
                    .AnyAsync(message => message.To == email && message.SentAt == null && message.Attempts >= 2 && message.LastError != null);
            }, "two failed attempts written on the message");
        }
        finally
        {
            await smtp.StartAsync();
        }

        var message = await smtp.WaitForAsync(email, timeout: TimeSpan.FromSeconds(30), subject: "Reset your password");
        Assert.Equal("Reset your password", message.Subject);
    }

    [Fact]
    public async Task AMessageTheMailServerRefusesForGood_IsNotRetried_AndKeepsTheReason()
    {
        Assert.SkipWhen(smtp.SkipReason is not null, smtp.SkipReason ?? "");
        await using var server = Server();
        using var browser = server.CreateBrowser();
        var address = $"nobody-{Guid.NewGuid():N}@{SmtpServer.RefusedDomain}";
        Assert.Equal(HttpStatusCode.OK, (await AskAsync(browser, address)).Response.StatusCode);

        OutboxMessage? refused = null;
        await Poll.UntilAsync(TimeSpan.FromSeconds(20), async () =>
        {
            await using var scope = server.Services.CreateAsyncScope();
            refused = await scope.ServiceProvider.GetRequiredService<AuthDbContext>().OutboxMessages.SingleOrDefaultAsync(message => message.To == address);
            return refused?.GaveUpAt is not null;
        }, "the message given up");
        Assert.Null(refused!.SentAt);
        Assert.Contains("No such mailbox", refused.LastError, StringComparison.Ordinal);

        // Retries come every 200 ms here: none does.
        await Task.Delay(TimeSpan.FromSeconds(1));
        await using var later = server.Services.CreateAsyncScope();
        Assert.Equal(1, (await later.ServiceProvider.GetRequiredService<AuthDbContext>().OutboxMessages.SingleAsync(message => message.To == address)).Attempts);
    }

    [Fact]
    public async Task AMessageStillFailingPastGiveUpAfter_IsNoLongerRetried_NorSentWhenTheServerIsBack()
    {
        Assert.SkipWhen(smtp.SkipReason is not null, smtp.SkipReason ?? "");
        await using var server = Server();
        var email = OAuthFlow.NewEmail();
        (await OAuthFlow.SignedUpBrowserAsync(server, email)).Dispose();
        using var browser = server.CreateBrowser();

        OutboxMessage? message = null;
        await smtp.StopAsync();
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await AskAsync(browser, email)).Response.StatusCode);
            await Poll.UntilAsync(TimeSpan.FromSeconds(20), async () => await AttemptsAsync() >= 1, "a failed attempt written on the message");

            // Written longer ago than Email:GiveUpAfter (3 days): the next failure is the last.
            await using (var scope = server.Services.CreateAsyncScope())
            {
                var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
                var row = await context.OutboxMessages.SingleAsync(m => m.To == email && m.Subject == "Reset your password");
                row.CreatedAt = DateTimeOffset.UtcNow.AddDays(-4);
                await context.SaveChangesAsync();
            }

            await Poll.UntilAsync(TimeSpan.FromSeconds(20), async () =>
            {
                await using var scope = server.Services.CreateAsyncScope();
                message = await scope.ServiceProvider.GetRequiredService<AuthDbContext>().OutboxMessages.AsNoTracking()
                    .SingleAsync(m => m.To == email && m.Subject == "Reset your password");
                return message.GaveUpAt is not null;
            }, "the message given up");
        }
        finally
        {
            await smtp.StartAsync();
        }

        // Retries come every 200 ms here: none is made, and the mail server never gets it.
        Assert.Null(message!.SentAt);
        Assert.NotNull(message.LastError);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(message.Attempts, await AttemptsAsync());
        Assert.DoesNotContain(smtp.MessagesTo(email), received => received.Subject == "Reset your password");

        async Task<int> AttemptsAsync()
        {
            await using var scope = server.Services.CreateAsyncScope();
            return await scope.ServiceProvider.GetRequiredService<AuthDbContext>().OutboxMessages
                .Where(m => m.To == email && m.Subject == "Reset your password").Select(m => m.Attempts).SingleOrDefaultAsync();
        }
    }

    [Fact]
    public async Task WithoutAnSmtpHost_MessagesAreWrittenAsEmlFiles()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"authserver-eml-{Guid.NewGuid():N}");
        await using var server = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
        {
            ["Email:PickupDirectory"] = folder,
            ["Email:PollInterval"] = "00:00:00.200",
            ["OAuth:Issuer"] = Issuer,
        });
        var email = OAuthFlow.NewEmail();
        (await OAuthFlow.SignedUpBrowserAsync(server, email)).Dispose();
        using var browser = server.CreateBrowser();
        await AskAsync(browser, email);

        var message = await new PickupDirectory(folder).WaitForAsync(email, subject: "Reset your password");
        Assert.Equal(email, message.To.Mailboxes.Single().Address);
        Assert.Equal(2, Directory.GetFiles(folder, "*.eml").Length); // the confirmation at sign-up, then this one
        Assert.StartsWith(Issuer + "account/reset-password?", Mailboxes.LinkTo(message, "/account/reset-password").AbsoluteUri, StringComparison.Ordinal);
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task ChangingThePassword_AsksForTheCurrentOne_EndsOtherSessions_KeepsThisOne_AndTellsTheAddress()
    {
        Assert.SkipWhen(smtp.SkipReason is not null, smtp.SkipReason ?? "");
        await using var server = Server();
        var email = OAuthFlow.NewEmail();
        using var here = await OAuthFlow.SignedUpBrowserAsync(server, email);
        using var elsewhere = server.CreateBrowser();
        Assert.Equal(HttpStatusCode.Redirect, (await elsewhere.SignInAsync(email, OAuthFlow.Password)).StatusCode);

        var (_, page) = await here.GetPageAsync("/account/security");
        var wrong = await here.SubmitAsync(page, new Dictionary<string, string>
        {
            ["Input.CurrentPassword"] = "not the password",
            ["Input.NewPassword"] = NewPassword,
            ["Input.ConfirmPassword"] = NewPassword,
        }, formSelector: "#password form");
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);

        (_, page) = await here.GetPageAsync("/account/security");
        var changed = await here.SubmitAsync(page, new Dictionary<string, string>
        {
            ["Input.CurrentPassword"] = OAuthFlow.Password,
            ["Input.NewPassword"] = NewPassword,
            ["Input.ConfirmPassword"] = NewPassword,
        }, formSelector: "#password form");
        Assert.Equal(HttpStatusCode.Redirect, changed.StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await here.GetPageAsync("/dashboard/keys")).Response.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await elsewhere.GetPageAsync("/dashboard/keys")).Response.StatusCode);
        var notice = await smtp.WaitForAsync(email, subject: "Your password was changed");
        Assert.Equal("Your password was changed", notice.Subject);
        Assert.StartsWith(Issuer + "account/security", Mailboxes.LinkTo(notice, "/account/security").AbsoluteUri, StringComparison.Ordinal);

        // Sign out everywhere: this session too.
        (_, page) = await here.GetPageAsync("/account/security");
        Assert.Equal(HttpStatusCode.Redirect, (await here.SubmitAsync(page, new Dictionary<string, string>(), formSelector: "#sessions form")).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await here.GetPageAsync("/dashboard/keys")).Response.StatusCode);
    }

    [Fact]
    public async Task ChangingTheEmail_IsConfirmedAtTheNewAddress_ToldToTheOld_AndATakenAddressChangesNothing()
    {
        Assert.SkipWhen(smtp.SkipReason is not null, smtp.SkipReason ?? "");
        await using var server = Server();
        var old = OAuthFlow.NewEmail();
        var taken = OAuthFlow.NewEmail();
        (await OAuthFlow.SignedUpBrowserAsync(server, taken)).Dispose();
        using var browser = await OAuthFlow.SignedUpBrowserAsync(server, old);

        // An address with an account: the same answer, that address is told, nothing changes.
        var (_, page) = await browser.GetPageAsync("/account/security");
        Assert.Equal(HttpStatusCode.Redirect, (await browser.SubmitAsync(page, new Dictionary<string, string> { ["NewEmail"] = taken }, formSelector: "#email form")).StatusCode);
        Assert.Contains("already uses it", (await smtp.WaitForAsync(taken, subject: "Your address was offered for another account")).TextBody, StringComparison.Ordinal);

        var fresh = OAuthFlow.NewEmail();
        (_, page) = await browser.GetPageAsync("/account/security");
        Assert.Equal(HttpStatusCode.Redirect, (await browser.SubmitAsync(page, new Dictionary<string, string> { ["NewEmail"] = fresh }, formSelector: "#email form")).StatusCode);
        var confirm = await smtp.WaitForAsync(fresh);
        Assert.Equal("Confirm your new email address", confirm.Subject);

        // Opening the link changes nothing until the button is pressed (a mail scanner may fetch it).
        using var elsewhere = server.CreateBrowser();
        var (shown, confirmPage) = await elsewhere.GetPageAsync(Mailboxes.LinkTo(confirm, "/account/confirm-email-change").PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, shown.StatusCode);
        using (var before = server.CreateBrowser())
        {
            Assert.Equal(HttpStatusCode.Redirect, (await before.SignInAsync(old, OAuthFlow.Password)).StatusCode);
        }

        var (done, donePage) = await elsewhere.ParseAsync(await elsewhere.SubmitAsync(confirmPage, new Dictionary<string, string>()));
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.Contains(fresh, donePage.QuerySelector("[role=status]")!.TextContent, StringComparison.Ordinal);

        using var after = server.CreateBrowser();
        Assert.Equal(HttpStatusCode.OK, (await after.SignInAsync(old, OAuthFlow.Password)).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await after.SignInAsync(fresh, OAuthFlow.Password)).StatusCode);
        Assert.Contains(fresh, (await smtp.WaitForAsync(old, subject: "Your email address was changed")).TextBody, StringComparison.Ordinal);

        // The link works once.
        var (again, _) = await after.GetPageAsync(Mailboxes.LinkTo(confirm, "/account/confirm-email-change").PathAndQuery);
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
    }

    private ConfiguredAuthServerFactory Server() => new(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>(smtp.Settings)
    {
        ["OAuth:Issuer"] = Issuer,
        ["Accounts:SessionCheckInterval"] = "00:00:00",
    })
    {
        Mailbox = smtp,
    };

    private static async Task<(HttpResponseMessage Response, AngleSharp.Html.Dom.IHtmlDocument Page)> AskAsync(TestBrowser browser, string email)
    {
        var (_, form) = await browser.GetPageAsync("/account/forgot-password");
        var response = await browser.SubmitAsync(form, new Dictionary<string, string> { ["Input.Email"] = email });
        return await browser.ParseAsync(response);
    }
}
