using System.Collections.Concurrent;

namespace AuthServer.Core;

/// <summary>
/// The node's caches by name, and how a change made on this node reaches the others: each cache forgets what changed
/// here at once, and the change is handed to the channel between nodes (Redis pub/sub when <c>RateLimits:Redis</c> is
/// set), whose messages from other nodes come back through <see cref="Apply"/>. Without a channel, another node serves
/// a stale entry until it expires (the <c>Caching</c> durations).
/// </summary>
internal sealed class CacheInvalidations
{
    /// <summary>The name that stands for every cache: a node that may have missed messages forgets everything.</summary>
    public const string All = "*";

    private readonly ConcurrentDictionary<string, Action<string?>> _caches = new(StringComparer.Ordinal);
    private volatile ICacheChannel? _channel;

    /// <summary>Called with the key that changed, or <see langword="null"/> when anything in the cache may have.</summary>
    public void Register(string cache, Action<string?> forget)
    {
        if (!_caches.TryAdd(cache, forget))
        {
            throw new InvalidOperationException($"Two caches are named '{cache}'.");
        }
    }

    /// <summary>The channel between nodes; set once, by whatever opens it.</summary>
    public void Connect(ICacheChannel channel) => _channel = channel;

    /// <summary>Something changed on this node: forget it here now, and tell the other nodes.</summary>
    public void Invalidate(string cache, string? key)
    {
        Apply(cache, key);
        _channel?.Publish(cache, key);
    }

    /// <summary>Forgets on this node only: what a message from another node asks.</summary>
    public void Apply(string cache, string? key)
    {
        if (cache == All)
        {
            foreach (var forget in _caches.Values)
            {
                forget(null);
            }
        }
        else if (_caches.TryGetValue(cache, out var forget))
        {
            forget(key);
        }
    }
}

/// <summary>Carries invalidations to the other nodes.</summary>
internal interface ICacheChannel
{
    /// <summary>Fire and forget, from a request: a lost message is bounded by the cache durations.</summary>
    void Publish(string cache, string? key);

    /// <summary>Sent and acknowledged by Redis, waiting up to <paramref name="timeout"/> for a connection (the command
    /// line, which exits right after); whether it was sent.</summary>
    Task<bool> PublishAsync(string cache, string? key, TimeSpan timeout);
}
