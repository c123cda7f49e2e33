namespace AuthServer.Data;

/// <summary>
/// An email waiting to be sent, or sent: written in the request that causes it, sent by a background sender that
/// retries, so that a mail server being down delays the message but never loses it or fails the request.
/// </summary>
public sealed class OutboxMessage
{
    public long Id { get; set; }

    public required string To { get; set; }

    public required string Subject { get; set; }

    public required string TextBody { get; set; }

    public string? HtmlBody { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When the sender may try it next, in milliseconds since the Unix epoch (a number every provider compares).</summary>
    public long NextAttemptAt { get; set; }

    public int Attempts { get; set; }

    /// <summary>Milliseconds since the Unix epoch when it was handed to the mail server; null while it waits.</summary>
    public long? SentAt { get; set; }

    /// <summary>
    /// Milliseconds since the Unix epoch when the sender stopped trying: the mail server refused the message for good
    /// (a 5xx answer to its recipient or content), or it failed for longer than <c>Email:GiveUpAfter</c>. Null while
    /// it waits or once sent.
    /// </summary>
    public long? GaveUpAt { get; set; }

    /// <summary>Why the last attempt failed (the mail server's answer), for the operator.</summary>
    public string? LastError { get; set; }
}
