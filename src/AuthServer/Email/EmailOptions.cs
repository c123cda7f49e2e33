using System.ComponentModel.DataAnnotations;

namespace AuthServer.Email;

/// <summary>The <c>Email</c> section: how the server's emails leave it.</summary>
public sealed class EmailOptions
{
    public const string SectionName = "Email";

    /// <summary>The sender, as a mailbox (<c>AuthServer &lt;no-reply@example.com&gt;</c>).</summary>
    [Required]
    public string From { get; set; } = "AuthServer <no-reply@localhost>";

    public SmtpOptions Smtp { get; set; } = new();

    /// <summary>Where messages are written as <c>.eml</c> files when no SMTP host is set (relative to the content root).</summary>
    [Required]
    public string PickupDirectory { get; set; } = "data/mail";

    /// <summary>How often the sender looks for messages due (a new message wakes it at once on the node that wrote it).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The wait before the first retry of a failed message; it doubles with each attempt, up to an hour.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a message that keeps failing is retried before the sender gives up on it (logged as an error).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan GiveUpAfter { get; set; } = TimeSpan.FromDays(3);

    internal bool UsesSmtp => !string.IsNullOrWhiteSpace(Smtp.Host);
}

/// <summary><c>Email:Smtp</c>: the mail server the messages are handed to.</summary>
public sealed class SmtpOptions
{
    public string? Host { get; set; }

    [Range(1, 65535)]
    public int Port { get; set; } = 587;

    public string? Username { get; set; }

    public string? Password { get; set; }

    /// <summary><c>None</c>, <c>StartTls</c> (the default: required, on port 587) or <c>Tls</c> (from the first byte, port 465).</summary>
    public SmtpSecurity Security { get; set; } = SmtpSecurity.StartTls;
}

public enum SmtpSecurity
{
    None,
    StartTls,
    Tls,
}
