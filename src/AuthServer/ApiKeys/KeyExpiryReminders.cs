using System.Net;
using AuthServer.Core;
using AuthServer.Data;
using AuthServer.Email;
using AuthServer.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AuthServer.ApiKeys;

/// <summary>
/// Tells a key's owner by email that the key is about to expire: once <see cref="ApiKeyOptions.ExpiryWarningDays"/>
/// ahead and once a day ahead (a single message when both are due together), so that the key is rotated before calls
/// start failing. Runs hourly on one node at a time (a lease); each reminder is written with the key's count of
/// reminders in one transaction, so none is sent twice nor skipped.
/// </summary>
internal sealed partial class KeyExpiryReminders(
    IServiceScopeFactory scopes,
    JobLeases leases,
    EmailSender sender,
    IOptions<ApiKeyOptions> options,
    IConfiguration configuration,
    TimeProvider clock,
    ILogger<KeyExpiryReminders> logger)
    : BackgroundService
{
    public const string LeaseName = "key-expiry-reminders";
    private static readonly TimeSpan Interval = TimeSpan.FromHours(1);
    private static readonly TimeSpan LastCall = TimeSpan.FromDays(1);

    /// <summary>Sends the reminders due at <paramref name="now"/>; the number sent.</summary>
    public async Task<int> RunOnceAsync(DateTimeOffset now, Uri? site, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();

        // Keys that may still need a reminder; which are due is decided here, since SQLite compares no dates.
        var candidates = await context.ApiKeys
            .Where(key => key.ExpiresAt != null && key.RevokedAt == null && key.ExpiryReminders < 2)
            .Select(key => new { key.Id, key.Name, key.DisplayPrefix, key.LastFour, key.ExpiresAt, key.ExpiryReminders, key.Owner!.Email })
            .ToListAsync(cancellationToken);
        var warning = TimeSpan.FromDays(options.Value.ExpiryWarningDays);
        var sent = 0;
        foreach (var key in candidates)
        {
            var left = key.ExpiresAt!.Value - now;
            var stage = left <= TimeSpan.Zero ? 2 : left <= LastCall ? 2 : left <= warning ? 1 : 0;
            if (stage <= key.ExpiryReminders || key.Email is null)
            {
                continue;
            }

            // The count moves only from the value read (another run may have sent it), with the message, in one
            // transaction. A key already expired (the server was down when its reminder was due) gets none.
            var message = left <= TimeSpan.Zero ? null : Message(key.Email, $"{key.Name} ({key.DisplayPrefix}…{key.LastFour})", key.ExpiresAt.Value, left, site);
            var strategy = context.Database.CreateExecutionStrategy();
            var reminded = await strategy.ExecuteAsync(async () =>
            {
                context.ChangeTracker.Clear();
                await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken);
                var updated = await context.ApiKeys
                    .Where(row => row.Id == key.Id && row.ExpiryReminders == key.ExpiryReminders)
                    .ExecuteUpdateAsync(set => set.SetProperty(row => row.ExpiryReminders, stage), cancellationToken);
                if (updated == 0)
                {
                    return false;
                }

                if (message is not null)
                {
                    EmailOutbox.Stage(context, message, clock.GetUtcNow());
                    await context.SaveChangesAsync(cancellationToken);
                }

                await transaction.CommitAsync(cancellationToken);
                return message is not null;
            });
            sent += reminded ? 1 : 0;
        }

        if (sent > 0)
        {
            sender.Wake();
            LogSent(logger, sent);
        }

        return sent;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Links on the configured issuer (the OAuth section's key, read here since API keys come before OAuth).
        var site = configuration.GetValue<Uri?>("OAuth:Issuer");
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await leases.TryAcquireAsync(LeaseName, Interval, stoppingToken))
                {
                    await RunOnceAsync(clock.GetUtcNow(), site, stoppingToken);
                }
            }
            catch (Exception exception) when (DatabaseFailures.IsDatabaseFailure(exception))
            {
                LogDatabaseDown(logger, exception);
            }

            try
            {
                await Task.Delay(Interval, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static EmailMessage Message(string to, string key, DateTimeOffset expires, TimeSpan left, Uri? site)
    {
        var when = left <= LastCall ? "within a day" : $"in {Math.Ceiling(left.TotalDays):0} days";
        var keys = site is null ? "the API keys page of your dashboard" : new Uri(site, "dashboard/keys").AbsoluteUri;
        string[] lines =
        [
            $"Your API key {key} expires {when}, at {expires:u}. Calls made with it will then be refused (401).",
            $"Roll it on {keys}: you get a new key at once, and the old one keeps working for the grace period you choose.",
        ];
        return new EmailMessage(
            to,
            $"Your API key expires {when}",
            string.Join("\n\n", lines),
            string.Concat(lines.Select(line => $"<p>{WebUtility.HtmlEncode(line)}</p>")));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sent {Count} key expiry reminder(s).")]
    private static partial void LogSent(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Key expiry reminders could not be read; they are sent when the database answers.")]
    private static partial void LogDatabaseDown(ILogger logger, Exception exception);
}
