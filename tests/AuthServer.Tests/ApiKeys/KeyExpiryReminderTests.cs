using AuthServer.ApiKeys;
using AuthServer.Data;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.ApiKeys;

/// <summary>
/// The reminders the documentation's "rotate keys every 90 days" calls for: an email 14 days and one day before a key
/// expires, once each, on a real SMTP server. Time is moved by giving each run the moment it runs at.
/// </summary>
public sealed class KeyExpiryReminderTests(SmtpServer smtp) : IClassFixture<SmtpServer>
{
    private static readonly Uri Site = new("https://auth.test/");

    [Fact]
    public async Task AnExpiringKey_GetsTwoReminders_OnceEach_AndOtherKeysNone()
    {
        Assert.SkipWhen(smtp.SkipReason is not null, smtp.SkipReason ?? "");
        await using var server = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), smtp.Settings);
        var email = OAuthFlow.NewEmail();
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
            var user = new ApplicationUser { UserName = email, Email = email };
            Assert.True((await users.CreateAsync(user, OAuthFlow.Password)).Succeeded);
            var keys = scope.ServiceProvider.GetRequiredService<ApiKeyService>();
            await keys.CreateAsync(user.Id, "soon", ["read"], 10, user.Id, CancellationToken.None);
            await keys.CreateAsync(user.Id, "later", ["read"], 90, user.Id, CancellationToken.None);
            var revoked = await keys.CreateAsync(user.Id, "revoked", ["read"], 5, user.Id, CancellationToken.None);
            await keys.RevokeAsync(user.Id, revoked.Key.Id, user.Id, CancellationToken.None);
        }

        var reminders = server.Services.GetRequiredService<KeyExpiryReminders>();
        var now = DateTimeOffset.UtcNow;

        Assert.Equal(1, await reminders.RunOnceAsync(now, Site, CancellationToken.None));
        Assert.Equal(0, await reminders.RunOnceAsync(now.AddHours(1), Site, CancellationToken.None));
        var first = await smtp.WaitForAsync(email);
        Assert.Equal("Your API key expires in 10 days", first.Subject);
        Assert.Contains("soon (", first.TextBody, StringComparison.Ordinal);
        Assert.Contains("https://auth.test/dashboard/keys", first.TextBody, StringComparison.Ordinal);

        Assert.Equal(1, await reminders.RunOnceAsync(now.AddDays(9.5), Site, CancellationToken.None));
        Assert.Equal(0, await reminders.RunOnceAsync(now.AddDays(9.6), Site, CancellationToken.None));
        var last = await smtp.WaitForAsync(email, count: 2);
        Assert.Equal("Your API key expires within a day", last.Subject);

        // Past its expiry nothing more; the 90-day key's first reminder comes 14 days ahead of it.
        Assert.Equal(0, await reminders.RunOnceAsync(now.AddDays(11), Site, CancellationToken.None));
        Assert.Equal(1, await reminders.RunOnceAsync(now.AddDays(77), Site, CancellationToken.None));
        Assert.Contains("later (", (await smtp.WaitForAsync(email, count: 3)).TextBody, StringComparison.Ordinal);
    }
}
