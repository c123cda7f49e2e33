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
/// The counts are the rate limits' (<see cref="IRateLimitStore"/>): in Redis when configured, so an attack spread over
/// many nodes is seen as a whole, and each kind is recorded at most once per cooldown per key or IP across all nodes.
/// Without Redis (or while it is away) each node counts alone.
/// </summary>
internal sealed class SuspiciousActivity(UsageMeter meter, IRateLimitStore store, IOptions<UsageOptions> options, TimeProvider clock)
{
    public const string FailureBurst = "security.failure_burst";
    public const string KeyManyIps = "security.key_many_ips";

    // The second each key and IP pair was last counted: the same caller again within it costs no shared counting.
    private readonly ConcurrentDictionary<(string KeyId, string Ip), long> _counted = new();

    /// <summary>A 401 or 403 answer: against a known key (<paramref name="keyId"/>), or at least from an IP.</summary>
    public async ValueTask FailureAsync(string ip, string? keyId, string? ownerId, int status)
    {
        var burst = options.Value.FailureBurst;
        if (keyId is not null && Counts(await store.AcquireAsync("suspicious:key:" + keyId, int.MaxValue, 1, CancellationToken.None)) >= burst)
        {
            await RaiseAsync(FailureBurst, "key:" + keyId, keyId, ownerId, ip, new { key_id = keyId, failures_per_minute = burst, last_status = status });
        }

        if (Counts(await store.AcquireAsync("suspicious:ip:" + ip, int.MaxValue, 1, CancellationToken.None)) >= burst)
        {
            // An address failing against many keys is not one owner's business: it goes to the admins' audit log.
            await RaiseAsync(FailureBurst, "ip:" + ip, null, null, ip, new { ip, failures_per_minute = burst, last_status = status });
        }
    }

    /// <summary>A call made with a key from <paramref name="ip"/>.</summary>
    public async ValueTask KeyUseAsync(string keyId, string ownerId, string ip)
    {
        var second = clock.GetUtcNow().ToUnixTimeSeconds();
        var pair = (keyId, ip);
        if (_counted.TryGetValue(pair, out var last) && last == second)
        {
            return; // the common case: the same caller again
        }

        if (_counted.Count > 100_000)
        {
            _counted.Clear(); // bounded memory under a flood of addresses
        }

        _counted[pair] = second;
        var distinctIps = options.Value.DistinctIps;
        var window = options.Value.DistinctIpWindow;
        var distinct = await store.CountDistinctAsync("suspicious:ips:" + keyId, ip, window, distinctIps * 4, CancellationToken.None);
        if (distinct >= distinctIps)
        {
            await RaiseAsync(KeyManyIps, "ips:" + keyId, keyId, ownerId, ip, new { key_id = keyId, distinct_ips = distinct, window_minutes = window.TotalMinutes });
        }
    }

    private static int Counts(RateLimitDecision decision) => decision.Limit - decision.Remaining;

    private async ValueTask RaiseAsync(string action, string subject, string? keyId, string? ownerId, string ip, object details)
    {
        var cooldown = options.Value.AlertCooldown;
        if (cooldown > TimeSpan.Zero && !await store.TryClaimAsync("suspicious:alerted:" + action + ":" + subject, cooldown, CancellationToken.None))
        {
            return;
        }

        meter.Alert(new AuditEvent
        {
            At = clock.GetUtcNow(),
            Actor = "system",
            Action = action,
            Target = keyId,
            AccountId = ownerId,
            IpAddress = ip,
            Details = JsonSerializer.Serialize(details),
        });
    }
}
