using System.Net;
using System.Text.Json;
using AuthServer.Data;
using AuthServer.Email;
using Microsoft.EntityFrameworkCore;

namespace AuthServer.Usage;

/// <summary>
/// The email a key's owner gets for a suspicious-activity alert on the key (at most once per
/// <see cref="UsageOptions.AlertCooldown"/>, as the alert itself): staged with the alert's audit row, so the two are
/// written together or not at all. Alerts about an address alone go to the admins' audit log only.
/// </summary>
internal static class SecurityAlertEmails
{
    public static async Task StageAsync(AuthDbContext context, IReadOnlyList<AuditEvent> alerts, Uri? site, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var owners = alerts.Where(alert => alert.AccountId is not null).Select(alert => alert.AccountId!).Distinct().ToList();
        if (owners.Count == 0)
        {
            return;
        }

        var addresses = await context.Users.Where(user => owners.Contains(user.Id) && user.Email != null)
            .ToDictionaryAsync(user => user.Id, user => user.Email!, cancellationToken);
        foreach (var alert in alerts)
        {
            if (alert.AccountId is { } owner && addresses.TryGetValue(owner, out var address))
            {
                EmailOutbox.Stage(context, Message(alert, address, site), now);
            }
        }
    }

    private static EmailMessage Message(AuditEvent alert, string to, Uri? site)
    {
        using var details = JsonDocument.Parse(alert.Details ?? "{}");
        var what = alert.Action switch
        {
            SuspiciousActivity.FailureBurst => "Many calls with your API key were refused within a minute (401 or 403): someone may be trying a key that no longer works, or one that is not theirs.",
            SuspiciousActivity.KeyManyIps => $"Your API key was used from {Number(details, "distinct_ips")} different addresses within {Number(details, "window_minutes")} minutes: it may have leaked.",
            _ => "Something unusual happened with your API key.",
        };
        var keys = site is null ? "the API keys page of your dashboard" : new Uri(site, "dashboard/keys").AbsoluteUri;
        string[] lines =
        [
            what,
            $"Key: {alert.Target}. Last seen from: {alert.IpAddress}. At: {alert.At:u}.",
            $"If this was not you, revoke or roll the key on {keys}.",
        ];
        return new EmailMessage(
            to,
            "Security alert on your API key",
            string.Join("\n\n", lines),
            string.Concat(lines.Select(line => $"<p>{WebUtility.HtmlEncode(line)}</p>")));
    }

    private static string Number(JsonDocument details, string name) =>
        details.RootElement.TryGetProperty(name, out var value) ? value.ToString() : "many";
}
