using System.Collections.Concurrent;
using System.Text.Json;
using AuthServer.Data;
using AuthServer.RateLimiting;
using Microsoft.Extensions.Options;

namespace AuthServer.Usage;

/// <summary>
/// Watches <c>/v1</c> traffic for what the documentation asks developers to look out for, and records it in the audit
/// log, where the key's owner sees it on the usage page:
/// <list type="bullet">
/// <item><c>security.failure_burst</c>: many 401/403 answers within a minute against one key, or from one IP.</item>
/// <item><c>security.key_many_ips</c>: one key used from many client IPs within a short time.</item>
/// </list>
/// Counting is in memory per node (an attack concentrated on one node is seen; one spread thinly over many nodes may
/// stay under the threshold on each). Each kind is recorded at most once per cooldown per key or IP.
/// </summary>
internal sealed class SuspiciousActivity(UsageMeter meter, IOptions<UsageOptions> options, TimeProvider clock)
{
    public const string FailureBurst = "security.failure_burst";
    public const string KeyManyIps = "security.key_many_ips";

    private readonly LocalRateLimitStore _failures = new(clock);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _alerted = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Dictionary<string, DateTimeOffset>> _ipsByKey = new(StringComparer.Ordinal);

    /// <summary>A 401 or 403 answer: against a known key (<paramref name="keyId"/>), or at least from an IP.</summary>
    public void Failure(string ip, string? keyId, string? ownerId, int status)
    {
        var burst = options.Value.FailureBurst;
        if (keyId is not null && Counts(_failures.Acquire("key:" + keyId, int.MaxValue, 1)) >= burst)
        {
            Raise(FailureBurst, "key:" + keyId, keyId, ownerId, ip, new { key_id = keyId, failures_per_minute = burst, last_status = status });
        }

        if (Counts(_failures.Acquire("ip:" + ip, int.MaxValue, 1)) >= burst)
        {
            // An address failing against many keys is not one owner's business: it goes to the admins' audit log.
            Raise(FailureBurst, "ip:" + ip, null, null, ip, new { ip, failures_per_minute = burst, last_status = status });
        }
    }

    /// <summary>A call made with a key from <paramref name="ip"/>.</summary>
    public void KeyUse(string keyId, string ownerId, string ip)
    {
        var now = clock.GetUtcNow();
        var window = options.Value.DistinctIpWindow;
        var seen = _ipsByKey.GetOrAdd(keyId, static _ => new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal));
        int distinct;
        lock (seen)
        {
            if (seen.TryGetValue(ip, out var last) && now - last < TimeSpan.FromSeconds(1))
            {
                return; // the common case: the same caller again
            }

            seen[ip] = now;
            if (seen.Count > options.Value.DistinctIps)
            {
                foreach (var (address, at) in seen.Where(entry => now - entry.Value > window).ToList())
                {
                    seen.Remove(address);
                }
            }

            distinct = seen.Count;
            if (distinct > options.Value.DistinctIps * 4)
            {
                seen.Clear(); // bounded memory under a flood; the alert below has already fired
            }
        }

        if (distinct >= options.Value.DistinctIps)
        {
            Raise(KeyManyIps, "ips:" + keyId, keyId, ownerId, ip, new { key_id = keyId, distinct_ips = distinct, window_minutes = window.TotalMinutes });
        }
    }

    private static int Counts(RateLimitDecision decision) => decision.Limit - decision.Remaining;

    private void Raise(string action, string subject, string? keyId, string? ownerId, string ip, object details)
    {
        var now = clock.GetUtcNow();
        if (_alerted.TryGetValue(action + subject, out var last) && now - last < options.Value.AlertCooldown)
        {
            return;
        }

        if (_alerted.Count > 10_000)
        {
            foreach (var (entry, at) in _alerted.Where(entry => now - entry.Value >= options.Value.AlertCooldown).ToList())
            {
                _alerted.TryRemove(entry, out _);
            }
        }

        _alerted[action + subject] = now;
        meter.Alert(new AuditEvent
        {
            At = now,
            Actor = "system",
            Action = action,
            Target = keyId,
            AccountId = ownerId,
            IpAddress = ip,
            Details = JsonSerializer.Serialize(details),
        });
    }
}
