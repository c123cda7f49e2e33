using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using MimeKit;

namespace AuthServer.Tests.Infrastructure;

/// <summary>
/// A real SMTP server (Debian's <c>python3-aiosmtpd</c>) on a loopback port, keeping what it receives in a Maildir that
/// the tests read. It can be stopped and started again on the same port, as a mail server that goes away, and it
/// refuses for good (550) every recipient at <see cref="RefusedDomain"/>. Where the
/// package is missing the tests skip with the reason, unless <c>AUTHSERVER_REQUIRE</c> names smtp (CI sets it).
/// </summary>
public sealed class SmtpServer : IAsyncLifetime, IMailbox
{
    // Debian's interpreter, where python3-aiosmtpd installs (a python3 earlier on PATH may be another one).
    private const string Python = "/usr/bin/python3";

    /// <summary>Recipients at this domain get "550 No such mailbox", as from a real server that knows them not.</summary>
    public const string RefusedDomain = "refused.example";

    // aiosmtpd's Maildir handler, refusing one domain's recipients.
    private const string HandlerModule = $$"""
        from aiosmtpd.handlers import Mailbox

        class RefusingMailbox(Mailbox):
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if address.lower().endswith('@{{RefusedDomain}}'):
                    return '550 5.1.1 No such mailbox here'
                envelope.rcpt_tos.append(address)
                return '250 OK'
        """;

    private Process? _process;
    private string _maildir = "";

    public int Port { get; private set; }

    public string? SkipReason { get; private set; }

    /// <summary>The settings that send the server's mail here.</summary>
    public Dictionary<string, string?> Settings => new()
    {
        ["Email:Smtp:Host"] = "127.0.0.1",
        ["Email:Smtp:Port"] = Port.ToString(CultureInfo.InvariantCulture),
        ["Email:Smtp:Security"] = "None",
        ["Email:From"] = "AuthServer <no-reply@auth.test>",
        ["Email:PollInterval"] = "00:00:00.200",
        ["Email:RetryDelay"] = "00:00:00.200",
    };

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(Python) || !await HasAiosmtpdAsync())
        {
            SkipReason = "No aiosmtpd for /usr/bin/python3 (install the Debian package 'python3-aiosmtpd').";
            if (Requirements.Required("smtp"))
            {
                throw new InvalidOperationException($"AUTHSERVER_REQUIRE names smtp, but: {SkipReason}");
            }

            return;
        }

        Port = ServerProcess.FreePort();
        _maildir = Path.Combine(Path.GetTempPath(), $"authserver-mail-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_maildir + "-handler");
        await File.WriteAllTextAsync(Path.Combine(_maildir + "-handler", "authserver_test_smtp.py"), HandlerModule);
        await StartAsync();
    }

    /// <summary>Starts the server (again) on the same port, and waits until it greets.</summary>
    public async Task StartAsync()
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["PYTHONPATH"] = _maildir + "-handler";
        foreach (var argument in (string[])["-m", "aiosmtpd", "-n", "-l", $"127.0.0.1:{Port}", "-c", "authserver_test_smtp.RefusingMailbox", _maildir])
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!await GreetsAsync())
        {
            if (DateTime.UtcNow > deadline || _process.HasExited)
            {
                throw new InvalidOperationException($"aiosmtpd did not start on port {Port}.");
            }

            await Task.Delay(50);
        }
    }

    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    public IReadOnlyList<MimeMessage> MessagesTo(string address) => Mailboxes.Read(Path.Combine(_maildir, "new"), "*", address);

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        foreach (var folder in (string[])[_maildir, _maildir + "-handler"])
        {
            if (_maildir.Length > 0 && Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static async Task<bool> HasAiosmtpdAsync()
    {
        using var probe = Process.Start(new ProcessStartInfo(Python, ["-c", "import aiosmtpd.handlers"]) { RedirectStandardError = true, UseShellExecute = false })!;
        await probe.WaitForExitAsync();
        return probe.ExitCode == 0;
    }

    private async Task<bool> GreetsAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            var buffer = new byte[64];
            var read = await client.GetStream().ReadAsync(buffer);
            return read >= 3 && buffer[0] == (byte)'2' && buffer[1] == (byte)'2' && buffer[2] == (byte)'0';
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
