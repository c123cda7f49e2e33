using AuthServer.Core;
using AuthServer.Data;
using AuthServer.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using MimeKit;

namespace AuthServer.Email;

/// <summary>
/// Sends the outbox: every <see cref="EmailOptions.PollInterval"/> (at once when this node wrote a message) it takes
/// the messages due, oldest first, and hands each to the transport. A failure is written on the message and retried
/// after <see cref="EmailOptions.RetryDelay"/>, doubling, up to an hour, for <see cref="EmailOptions.GiveUpAfter"/>;
/// a message the mail server refuses for good (a 5xx answer to its recipient or content) is not retried. Either
/// way the message stays in the outbox with the reason, and an error is logged. Nodes sharing a database
/// send one at a time (a lease). A message is marked sent right after the mail server took it, so a node killed in
/// between sends it again: at least once, never lost.
/// </summary>
internal sealed partial class EmailSender(
    IServiceScopeFactory scopes, IMailTransport transport, JobLeases leases, IOptions<EmailOptions> options, TimeProvider clock, ILogger<EmailSender> logger)
    : BackgroundService
{
    public const string LeaseName = "email";
    private const int BatchSize = 50;

    // A round takes no new message after a minute, so that it ends (an SMTP exchange may take up to a few 30 s
    // timeouts) well inside its lease: no other node sends the same messages meanwhile.
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan RoundLength = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromHours(1);

    private readonly SemaphoreSlim _wake = new(0, 1);

    /// <summary>A message was written on this node: look now.</summary>
    public void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken.
        }
    }

    /// <summary>Sends what is due; the number sent. Returns at once when nothing is due or another node is sending.</summary>
    public async Task<int> SendDueAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        if (!await context.OutboxMessages.AnyAsync(message => message.SentAt == null && message.GaveUpAt == null && message.NextAttemptAt <= now, cancellationToken)
            || !await leases.TryAcquireAsync(LeaseName, Lease, cancellationToken))
        {
            return 0;
        }

        var due = await context.OutboxMessages
            .Where(message => message.SentAt == null && message.GaveUpAt == null && message.NextAttemptAt <= now)
            .OrderBy(message => message.Id)
            .Take(BatchSize)
            .ToListAsync(cancellationToken);
        var sent = 0;
        var started = clock.GetUtcNow();
        foreach (var message in due)
        {
            if (clock.GetUtcNow() - started > RoundLength)
            {
                break;
            }

            try
            {
                await transport.SendAsync(ToMime(message), cancellationToken);
                message.SentAt = clock.GetUtcNow().ToUnixTimeMilliseconds();
                message.LastError = null;
                sent++;
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                message.Attempts++;
                message.LastError = exception.Message.Length > 1000 ? exception.Message[..1000] : exception.Message;
                if (IsPermanent(exception) || clock.GetUtcNow() - message.CreatedAt >= options.Value.GiveUpAfter)
                {
                    message.GaveUpAt = clock.GetUtcNow().ToUnixTimeMilliseconds();
                    LogGaveUp(logger, message.Id, message.Attempts, exception.Message);
                }
                else
                {
                    var delay = TimeSpan.FromTicks(Math.Min(MaxRetryDelay.Ticks, options.Value.RetryDelay.Ticks * (1L << Math.Min(message.Attempts - 1, 20))));
                    message.NextAttemptAt = clock.GetUtcNow().Add(delay).ToUnixTimeMilliseconds();
                    LogFailed(logger, message.Id, message.Attempts, delay, exception.Message);
                }
            }

            // Each message's outcome is written before the next is tried.
            await context.SaveChangesAsync(CancellationToken.None);
        }

        return sent;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SendDueAsync(stoppingToken);
            }
            catch (Exception exception) when (DatabaseFailures.IsDatabaseFailure(exception))
            {
                LogDatabaseDown(logger, exception);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            try
            {
                await _wake.WaitAsync(options.Value.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private MimeMessage ToMime(OutboxMessage message)
    {
        var body = new BodyBuilder { TextBody = message.TextBody, HtmlBody = message.HtmlBody };
        var mime = new MimeMessage
        {
            Subject = message.Subject,
            Body = body.ToMessageBody(),
            MessageId = MimeKit.Utils.MimeUtils.GenerateMessageId(),
        };
        mime.From.Add(MailboxAddress.Parse(options.Value.From));
        mime.To.Add(MailboxAddress.Parse(message.To));
        return mime;
    }

    /// <summary>
    /// A 5xx answer to the message's recipient or content: sending it again would get the same. A refused sender or
    /// login is the server's configuration, which the operator mends, so those are retried.
    /// </summary>
    private static bool IsPermanent(Exception exception) =>
        exception is MailKit.Net.Smtp.SmtpCommandException
        {
            ErrorCode: MailKit.Net.Smtp.SmtpErrorCode.RecipientNotAccepted or MailKit.Net.Smtp.SmtpErrorCode.MessageNotAccepted,
        } refused
        && (int)refused.StatusCode >= 500;

    [LoggerMessage(Level = LogLevel.Error, Message = "Email {Id} was not sent and will not be retried (attempt {Attempts}): {Reason}")]
    private static partial void LogGaveUp(ILogger logger, long id, int attempts, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Email {Id} could not be sent (attempt {Attempts}); retried in {Delay}: {Reason}")]
    private static partial void LogFailed(ILogger logger, long id, int attempts, TimeSpan delay, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The outbox could not be read; emails wait until the database answers.")]
    private static partial void LogDatabaseDown(ILogger logger, Exception exception);
}
