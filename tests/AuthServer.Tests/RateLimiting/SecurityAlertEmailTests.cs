using System.Net;
using AuthServer.ApiKeys;
using AuthServer.Tests.Infrastructure;
using AuthServer.Usage;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.RateLimiting;

/// <summary>A suspicious-activity alert on a key reaches its owner by email, once per cooldown, on a real SMTP server.</summary>
public sealed class SecurityAlertEmailTests(SmtpServer smtp) : IClassFixture<SmtpServer>
{
    [Fact]
    public async Task AFailureBurstOnAKey_IsEmailedToItsOwner_Once()
    {
        Assert.SkipWhen(smtp.SkipReason is not null, smtp.SkipReason ?? "");
        var settings = new Dictionary<string, string?>(RateLimitedServer.Settings) { ["OAuth:Issuer"] = "https://auth.test/" };
        foreach (var (key, value) in smtp.Settings)
        {
            settings[key] = value;
        }

        await using var server = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), settings) { Mailbox = smtp };
        using var account = await TestAccount.CreateAsync(server);
        string keyId, email;
        await using (var scope = server.Services.CreateAsyncScope())
        {
            email = (await scope.ServiceProvider.GetRequiredService<Microsoft.AspNetCore.Identity.UserManager<AuthServer.Data.ApplicationUser>>()
                .FindByIdAsync(account.Id))!.Email!;
            var keys = scope.ServiceProvider.GetRequiredService<ApiKeyService>();
            keyId = (await keys.ListAsync(account.Id, CancellationToken.None)).Single().Id;
            await keys.RevokeAsync(account.Id, keyId, account.Id, CancellationToken.None);
        }

        using var api = server.CreateApiClient();
        var refused = await Calls.ManyAsync(api, account.Key, 12);
        Assert.All(refused, response => Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode));
        await server.Services.GetRequiredService<UsageMeter>().FlushAsync(CancellationToken.None);

        var message = await smtp.WaitForAsync(email, subject: "Security alert on your API key");
        Assert.Equal("Security alert on your API key", message.Subject);
        Assert.Contains(keyId, message.TextBody, StringComparison.Ordinal);
        Assert.Contains("https://auth.test/dashboard/keys", message.TextBody, StringComparison.Ordinal);

        // Twice the burst, one alert and one email (the cooldown).
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Single(smtp.MessagesTo(email), message => message.Subject == "Security alert on your API key");
    }
}
