using AuthServer.Data;

namespace AuthServer.Email;

/// <summary>A message to send: plain text always, HTML when there is a richer form.</summary>
internal sealed record EmailMessage(string To, string Subject, string TextBody, string? HtmlBody = null);

/// <summary>
/// Puts a message in the outbox table, in the request that causes it; <see cref="EmailSender"/> sends it. The request
/// succeeds whether or not the mail server is up: the message waits.
/// </summary>
internal sealed class EmailOutbox(AuthDbContext context, EmailSender sender, TimeProvider clock)
{
    public async Task EnqueueAsync(EmailMessage message, CancellationToken cancellationToken)
    {
        Stage(context, message, clock.GetUtcNow());
        await context.SaveChangesAsync(cancellationToken);
        sender.Wake();
    }

    /// <summary>Adds the message to <paramref name="context"/>, to be written with whatever else it saves (one
    /// transaction: the message exists exactly when what it tells of does); call <see cref="EmailSender.Wake"/> after.</summary>
    public static void Stage(AuthDbContext context, EmailMessage message, DateTimeOffset now) =>
        context.OutboxMessages.Add(new OutboxMessage
        {
            To = message.To,
            Subject = message.Subject,
            TextBody = message.TextBody,
            HtmlBody = message.HtmlBody,
            CreatedAt = now,
            NextAttemptAt = now.ToUnixTimeMilliseconds(),
        });
}
