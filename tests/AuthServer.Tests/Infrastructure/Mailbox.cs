using MimeKit;

namespace AuthServer.Tests.Infrastructure;

/// <summary>Where a server's mail can be read: a real SMTP server's Maildir, or the <c>.eml</c> files of the quick start.</summary>
public interface IMailbox
{
    /// <summary>The messages received for <paramref name="address"/> so far, in the order they arrived.</summary>
    IReadOnlyList<MimeMessage> MessagesTo(string address);
}

/// <summary>The <c>.eml</c> files a server without an SMTP host writes (<c>Email:PickupDirectory</c>).</summary>
public sealed class PickupDirectory(string path) : IMailbox
{
    public string Path { get; } = path;

    public IReadOnlyList<MimeMessage> MessagesTo(string address) => Mailboxes.Read(Path, "*.eml", address);
}

public static class Mailboxes
{
    /// <summary>Waits for the <paramref name="count"/>th message to <paramref name="to"/> (with this subject, when one is given).</summary>
    public static async Task<MimeMessage> WaitForAsync(
        this IMailbox mailbox, string to, int count = 1, TimeSpan? timeout = null, string? subject = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var messages = mailbox.MessagesTo(to).Where(message => subject is null || message.Subject == subject).ToList();
            if (messages.Count >= count)
            {
                return messages[count - 1];
            }

            Assert.True(DateTime.UtcNow < deadline, $"No message #{count} to {to}{(subject is null ? "" : $" about '{subject}'")} arrived.");
            await Task.Delay(50);
        }
    }

    /// <summary>The first link in a message's text to a path under <paramref name="path"/>.</summary>
    public static Uri LinkTo(MimeMessage message, string path) =>
        (message.TextBody ?? "").Split(['\n', ' '], StringSplitOptions.RemoveEmptyEntries)
            .Select(word => Uri.TryCreate(word.Trim(), UriKind.Absolute, out var uri) ? uri : null)
            .FirstOrDefault(uri => uri is not null && uri.AbsolutePath == path)
            ?? throw new InvalidOperationException($"No link to {path} in: {message.TextBody}");

    /// <summary>The messages in <paramref name="folder"/> addressed to <paramref name="to"/>, oldest first.</summary>
    internal static IReadOnlyList<MimeMessage> Read(string folder, string pattern, string to) =>
        !Directory.Exists(folder)
            ? []
            : [.. Directory.GetFiles(folder, pattern)
                .OrderBy(File.GetLastWriteTimeUtc)
                .Select(Load)
                .OfType<MimeMessage>()
                .Where(message => message.To.Mailboxes.Any(mailbox => string.Equals(mailbox.Address, to, StringComparison.OrdinalIgnoreCase)))];

    // A file still being written is read on the next look.
    private static MimeMessage? Load(string path)
    {
        try
        {
            return MimeMessage.Load(path);
        }
        catch (Exception exception) when (exception is IOException or FormatException)
        {
            return null;
        }
    }
}
