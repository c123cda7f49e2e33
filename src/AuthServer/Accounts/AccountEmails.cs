using System.Net;
using AuthServer.Email;

namespace AuthServer.Accounts;

/// <summary>The messages about a person's account, each in plain text and HTML, with absolute links.</summary>
internal sealed class AccountEmails(EmailOutbox outbox)
{
    public Task PasswordResetAsync(string to, Uri link, TimeSpan lifetime, CancellationToken cancellationToken) =>
        SendAsync(to, "Reset your password", [
            "Someone, probably you, asked to reset the password of your account.",
            $"Choose a new password here (the link works once, for {Describe(lifetime)}):",
        ], link, "If it was not you, ignore this message: your password stays as it is.", cancellationToken);

    /// <summary>The link that confirms a new account's address.</summary>
    public Task ConfirmAddressAsync(string to, Uri link, CancellationToken cancellationToken) =>
        SendAsync(to, "Confirm your email address", [
            "Someone, probably you, created an account with this address.",
            "Confirm the address here (until then the account cannot create API keys or apps):",
        ], link, "If it was not you, ignore this message: the account stays unconfirmed.", cancellationToken);

    /// <summary>A sign-up with an address that already has an account: said to that address only, so the page never tells.</summary>
    public Task AlreadyRegisteredAsync(string to, Uri signIn, CancellationToken cancellationToken) =>
        SendAsync(to, "You already have an account", [
            "Someone, probably you, tried to create an account with this address, but it already has one; nothing changed.",
            "Sign in here (or reset your password from that page if you forgot it):",
        ], signIn, "If it was not you, there is nothing to do.", cancellationToken);

    /// <summary>A reset asked for an address with no account: said to that address only, so the page never tells.</summary>
    public Task NoAccountAsync(string to, Uri signUp, CancellationToken cancellationToken) =>
        SendAsync(to, "Password reset: no account with this address", [
            "Someone, probably you, asked to reset the password of an account with this address, but there is none.",
            "To create one:",
        ], signUp, "If it was not you, ignore this message.", cancellationToken);

    /// <summary>The link that moves an account to a new address, sent to that address (which proves it is theirs).</summary>
    public Task ConfirmNewAddressAsync(string to, Uri link, CancellationToken cancellationToken) =>
        SendAsync(to, "Confirm your new email address", [
            "Someone, probably you, asked to move their account to this address.",
            "Confirm it here (until then the account keeps its old address):",
        ], link, "If it was not you, ignore this message: nothing changes.", cancellationToken);

    /// <summary>A move asked to an address that already has an account: said to that address only.</summary>
    public Task AddressTakenAsync(string to, Uri signIn, CancellationToken cancellationToken) =>
        SendAsync(to, "Your address was offered for another account", [
            "Someone asked to move their account to this address, but an account already uses it; nothing changed.",
            "Your account is here:",
        ], signIn, "If it was not you, there is nothing to do.", cancellationToken);

    /// <summary>A notice to the account's address after a change it should know of (it was maybe not them).</summary>
    public Task NoticeAsync(string to, string subject, string what, Uri security, CancellationToken cancellationToken) =>
        SendAsync(to, subject, [what, "If it was not you, reset your password at once and review your account:"], security,
            "This message is sent to the address of your account whenever its security changes.", cancellationToken);

    private Task SendAsync(string to, string subject, string[] lines, Uri link, string footer, CancellationToken cancellationToken)
    {
        var text = string.Join("\n\n", [.. lines, link.AbsoluteUri, footer]);
        var html = string.Concat(lines.Select(line => $"<p>{WebUtility.HtmlEncode(line)}</p>"))
            + $"<p><a href=\"{WebUtility.HtmlEncode(link.AbsoluteUri)}\">{WebUtility.HtmlEncode(link.AbsoluteUri)}</a></p>"
            + $"<p>{WebUtility.HtmlEncode(footer)}</p>";
        return outbox.EnqueueAsync(new EmailMessage(to, subject, text, html), cancellationToken);
    }

    /// <summary>A link's lifetime in words ("one hour", "30 minutes"), as the page and the email both say it.</summary>
    public static string Describe(TimeSpan lifetime) =>
        lifetime.TotalHours >= 1 && lifetime.TotalHours == Math.Floor(lifetime.TotalHours)
            ? (lifetime.TotalHours == 1 ? "one hour" : $"{lifetime.TotalHours:0} hours")
            : $"{lifetime.TotalMinutes:0} minutes";
}
