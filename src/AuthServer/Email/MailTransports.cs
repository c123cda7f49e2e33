using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace AuthServer.Email;

/// <summary>Hands a message on: to the mail server, or to a folder.</summary>
internal interface IMailTransport
{
    Task SendAsync(MimeMessage message, CancellationToken cancellationToken);
}

/// <summary>SMTP with MailKit (<c>Email:Smtp:*</c>); a connection per batch would save little at the rates mail is sent.</summary>
internal sealed class SmtpTransport(IOptions<EmailOptions> options) : IMailTransport
{
    public async Task SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        var smtp = options.Value.Smtp;
        using var client = new SmtpClient { Timeout = 30_000 };
        await client.ConnectAsync(smtp.Host!, smtp.Port, smtp.Security switch
        {
            SmtpSecurity.None => SecureSocketOptions.None,
            SmtpSecurity.Tls => SecureSocketOptions.SslOnConnect,
            _ => SecureSocketOptions.StartTls,
        }, cancellationToken);
        if (!string.IsNullOrEmpty(smtp.Username))
        {
            await client.AuthenticateAsync(smtp.Username, smtp.Password ?? "", cancellationToken);
        }

        await client.SendAsync(message, cancellationToken);
        await client.DisconnectAsync(quit: true, cancellationToken);
    }
}

/// <summary>
/// Without an SMTP host (the quick start), each message becomes an <c>.eml</c> file in <c>Email:PickupDirectory</c>,
/// which any mail program opens; the log says where (not what: a message may hold a link that is a secret).
/// </summary>
internal sealed partial class PickupDirectoryTransport(IOptions<EmailOptions> options, IHostEnvironment environment, ILogger<PickupDirectoryTransport> logger)
    : IMailTransport
{
    public string Directory => Path.GetFullPath(options.Value.PickupDirectory, environment.ContentRootPath);

    public async Task SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid():N}.eml");

        // Written aside and then renamed: whoever watches the folder never opens half a message.
        var partial = path + ".partial";
        await message.WriteToAsync(partial, cancellationToken);
        File.Move(partial, path);
        LogWritten(logger, path);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "No SMTP host is set (Email:Smtp:Host): the email was written to {Path}.")]
    private static partial void LogWritten(ILogger logger, string path);
}
