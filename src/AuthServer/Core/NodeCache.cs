using Microsoft.Extensions.Caching.Memory;

namespace AuthServer.Core;

/// <summary>
/// What this node remembers of values read from the database, for a short time and within a bounded size, and
/// forgets at once when the node itself changes them (<see cref="Invalidate"/>). A named cache also forgets what
/// another node changed when <see cref="CacheInvalidations"/> has a channel between nodes; otherwise such a change is
/// seen when the entry expires.
/// </summary>
/// <remarks>
/// Every invalidation moves a generation, and an entry is trusted only while the generation is the one read before
/// its value was loaded. So an invalidation that lands between a database read and the cache write wins: the value
/// read before the change is stored, but never served.
/// </remarks>
/// <typeparam name="TValue">The value; a <see langword="null"/> one (nothing found) is remembered too.</typeparam>
internal sealed class NodeCache<TValue> : IDisposable
{
    private readonly MemoryCache _entries;
    private readonly string _name = "";
    private readonly CacheInvalidations? _invalidations;
    private long _generation;

    /// <summary>A cache of this node alone: nothing another node changes reaches it before expiry.</summary>
    public NodeCache(int sizeLimit) => _entries = new(new MemoryCacheOptions { SizeLimit = sizeLimit });

    /// <summary>A cache whose invalidations travel to the same cache (by <paramref name="name"/>) on every node.</summary>
    public NodeCache(string name, int sizeLimit, CacheInvalidations invalidations)
        : this(sizeLimit)
    {
        _name = name;
        _invalidations = invalidations;
        invalidations.Register(name, Forget);
    }

    private sealed record Entry(TValue Value, long Generation);

    /// <summary>Read it before loading a value, and store the value with it (<see cref="Set"/>).</summary>
    public long Generation => Interlocked.Read(ref _generation);

    public bool TryGet(string key, out TValue value)
    {
        if (_entries.TryGetValue(key, out Entry? entry) && entry!.Generation == Generation)
        {
            value = entry.Value;
            return true;
        }

        value = default!;
        return false;
    }

    /// <param name="key">The entry's key.</param>
    /// <param name="value">The value loaded.</param>
    /// <param name="generation">The <see cref="Generation"/> read before the value was loaded.</param>
    /// <param name="duration">How long the value may be served; zero or less stores nothing.</param>
    public void Set(string key, TValue value, long generation, TimeSpan duration)
    {
        if (duration > TimeSpan.Zero)
        {
            _entries.Set(key, new Entry(value, generation), new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = duration, Size = 1 });
        }
    }

    /// <summary>The remembered value, or one loaded now and remembered for <paramref name="duration"/>.</summary>
    public async ValueTask<TValue> GetOrLoadAsync(string key, Func<ValueTask<TValue>> load, TimeSpan duration)
    {
        if (TryGet(key, out var value))
        {
            return value;
        }

        var generation = Generation;
        value = await load();
        Set(key, value, generation, duration);
        return value;
    }

    /// <summary>The value of <paramref name="key"/> changed on this node: it is read again, and so is everything
    /// loaded while this happened.</summary>
    public void Invalidate(string key) => Changed(key);

    /// <summary>Many entries may hold what changed (a scope, listed in many lists): nothing read before is served.</summary>
    public void InvalidateAll() => Changed(null);

    public void Dispose() => _entries.Dispose();

    private void Changed(string? key)
    {
        if (_invalidations is null)
        {
            Forget(key);
        }
        else
        {
            _invalidations.Invalidate(_name, key);
        }
    }

    private void Forget(string? key)
    {
        Interlocked.Increment(ref _generation);
        try
        {
            if (key is not null)
            {
                _entries.Remove(key);
            }
        }
        catch (ObjectDisposedException)
        {
            // A message from another node arriving while this node shuts down.
        }
    }
}
