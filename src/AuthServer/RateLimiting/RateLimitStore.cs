using System.Collections.Concurrent;

namespace AuthServer.RateLimiting;

/// <summary>
/// The answer of a limiter: whether the request is admitted, and what the <c>X-RateLimit-*</c> and
/// <c>Retry-After</c> headers say.
/// </summary>
/// <param name="Admitted">The request may proceed (for a peek: the limit is not yet reached).</param>
/// <param name="Limit">Requests allowed in any 60-second window.</param>
/// <param name="Remaining">Requests still allowed now.</param>
/// <param name="ResetSeconds">Seconds until the oldest counted request leaves the window (0 when none is counted).</param>
/// <param name="RetryAfterSeconds">When not admitted: seconds until a request would be.</param>
internal readonly record struct RateLimitDecision(bool Admitted, int Limit, int Remaining, int ResetSeconds, int RetryAfterSeconds);

/// <summary>
/// Counters every node shares (in Redis when configured): requests against a limit in a sliding 60-second window,
/// measured at one-second granularity, and the two signals suspicious-activity detection needs.
/// </summary>
internal interface IRateLimitStore
{
    /// <summary>
    /// Counts <paramref name="cost"/> requests under <paramref name="key"/> if that keeps it within
    /// <paramref name="limit"/>. A cost of 0 only looks: it is admitted while the limit is not reached.
    /// </summary>
    ValueTask<RateLimitDecision> AcquireAsync(string key, int limit, int cost, CancellationToken cancellationToken);

    /// <summary>Takes back the most recent request counted under <paramref name="key"/> (one that turned out not to count).</summary>
    ValueTask ReleaseAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Notes <paramref name="member"/> as seen now in the set under <paramref name="key"/> and answers how many
    /// distinct members were seen within <paramref name="window"/> (at most <paramref name="cap"/> are kept, the most
    /// recent, so a flood of members costs bounded memory).
    /// </summary>
    ValueTask<int> CountDistinctAsync(string key, string member, TimeSpan window, int cap, CancellationToken cancellationToken);

    /// <summary>Whether this caller is the first, on any node, to claim <paramref name="key"/> within <paramref name="period"/>.</summary>
    ValueTask<bool> TryClaimAsync(string key, TimeSpan period, CancellationToken cancellationToken);
}

/// <summary>
/// One key's counts: a ring of 60 one-second buckets. A bucket belongs to the window when its second is one of the
/// last 60, so no request older than the window is ever counted and none in it is forgotten.
/// </summary>
internal sealed class SlidingWindow
{
    public const int Seconds = 60;

    private readonly long[] _stamps = new long[Seconds];
    private readonly int[] _counts = new int[Seconds];

    /// <summary>The last second anything was counted; a window idle for longer than <see cref="Seconds"/> is empty.</summary>
    public long LastSecond { get; private set; }

    /// <summary>Set when the store drops the window; a caller holding it takes a fresh one.</summary>
    public bool Retired { get; set; }

    public RateLimitDecision Acquire(long now, int limit, int cost)
    {
        // The buckets of the window, oldest first, are slots first, first + 1, ... (wrapping at 60): one division per
        // call instead of one per bucket, since this runs under the window's lock on every call.
        var first = Slot(now - Seconds + 1);
        var total = 0;
        for (int i = 0, slot = first; i < Seconds; i++, slot = Next(slot))
        {
            if (_stamps[slot] == now - Seconds + 1 + i)
            {
                total += _counts[slot];
            }
        }

        var admitted = cost > 0 ? total + cost <= limit : total < limit;
        if (admitted && cost > 0)
        {
            var slot = Slot(now);
            if (_stamps[slot] != now)
            {
                _stamps[slot] = now;
                _counts[slot] = 0;
            }

            _counts[slot] += cost;
            total += cost;
            LastSecond = now;
        }

        // Walk the buckets oldest first: the first one is when Remaining next grows (the reset); when rejected, the
        // retry is the first second by which enough buckets have left for this request to fit.
        int reset = 0, retryAfter = 0, left = total, needed = Math.Max(cost, 1);
        for (int i = 0, slot = first; i < Seconds; i++, slot = Next(slot))
        {
            var second = now - Seconds + 1 + i;
            if (_stamps[slot] != second || _counts[slot] == 0)
            {
                continue;
            }

            if (reset == 0)
            {
                reset = (int)(second + Seconds - now);
            }

            left -= _counts[slot];
            if (!admitted && left + needed <= limit)
            {
                retryAfter = (int)(second + Seconds - now);
                break;
            }

            if (admitted)
            {
                break;
            }
        }

        if (!admitted && retryAfter == 0)
        {
            retryAfter = Seconds;
        }

        return new RateLimitDecision(admitted, limit, Math.Max(0, limit - total), reset, retryAfter);
    }

    /// <summary>Takes one count back from the most recent bucket of the window that holds one.</summary>
    public void Release(long now)
    {
        for (var second = now; second > now - Seconds; second--)
        {
            var slot = Slot(second);
            if (_stamps[slot] == second && _counts[slot] > 0)
            {
                _counts[slot]--;
                return;
            }
        }
    }

    private static int Next(int slot) => slot == Seconds - 1 ? 0 : slot + 1;

    private static int Slot(long second) => (int)(((second % Seconds) + Seconds) % Seconds);
}

/// <summary>
/// Counters in this process: exact for one node. Windows idle for a whole minute are dropped, so memory follows the
/// number of active callers, not the number ever seen.
/// </summary>
internal sealed class LocalRateLimitStore(TimeProvider clock) : IRateLimitStore
{
    private readonly ConcurrentDictionary<string, SlidingWindow> _windows = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DistinctSet> _sets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _claims = new(StringComparer.Ordinal);
    private long _lastSweep;

    /// <summary>Members by the time each was last seen; <see cref="Window"/> is the one it was last asked with.</summary>
    private sealed class DistinctSet
    {
        public Dictionary<string, DateTimeOffset> Members { get; } = new(StringComparer.Ordinal);

        public TimeSpan Window { get; set; }

        public DateTimeOffset LastSeen { get; set; }
    }

    public int Count => _windows.Count;

    public ValueTask<RateLimitDecision> AcquireAsync(string key, int limit, int cost, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Acquire(key, limit, cost));

    public ValueTask ReleaseAsync(string key, CancellationToken cancellationToken)
    {
        Release(key);
        return ValueTask.CompletedTask;
    }

    public ValueTask<int> CountDistinctAsync(string key, string member, TimeSpan window, int cap, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        SweepIfDue(now.ToUnixTimeSeconds());
        var set = _sets.GetOrAdd(key, static _ => new DistinctSet());
        lock (set)
        {
            set.Window = window;
            set.LastSeen = now;
            set.Members[member] = now;
            if (set.Members.Count > 1)
            {
                foreach (var (gone, _) in set.Members.Where(entry => now - entry.Value > window).ToList())
                {
                    set.Members.Remove(gone);
                }
            }

            if (set.Members.Count > cap)
            {
                foreach (var (oldest, _) in set.Members.OrderBy(entry => entry.Value).Take(set.Members.Count - cap).ToList())
                {
                    set.Members.Remove(oldest);
                }
            }

            return ValueTask.FromResult(set.Members.Count);
        }
    }

    public ValueTask<bool> TryClaimAsync(string key, TimeSpan period, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        SweepIfDue(now.ToUnixTimeSeconds());
        while (true)
        {
            if (_claims.TryAdd(key, now + period))
            {
                return ValueTask.FromResult(true);
            }

            if (_claims.TryGetValue(key, out var until) && until > now)
            {
                return ValueTask.FromResult(false);
            }

            // Expired: whoever replaces it first holds the claim.
            if (_claims.TryUpdate(key, now + period, until))
            {
                return ValueTask.FromResult(true);
            }
        }
    }

    public void Release(string key)
    {
        if (_windows.TryGetValue(key, out var window))
        {
            lock (window)
            {
                window.Release(clock.GetUtcNow().ToUnixTimeSeconds());
            }
        }
    }

    public RateLimitDecision Acquire(string key, int limit, int cost)
    {
        var now = clock.GetUtcNow().ToUnixTimeSeconds();
        SweepIfDue(now);

        if (cost == 0 && !_windows.ContainsKey(key))
        {
            // A look at a key never counted creates nothing (a flood of new addresses costs no memory).
            return new RateLimitDecision(true, limit, limit, 0, 0);
        }

        while (true)
        {
            var window = _windows.GetOrAdd(key, static _ => new SlidingWindow());
            lock (window)
            {
                if (!window.Retired)
                {
                    return window.Acquire(now, limit, cost);
                }
            }
        }
    }

    private void SweepIfDue(long now)
    {
        var last = Interlocked.Read(ref _lastSweep);
        if (now - last < SlidingWindow.Seconds || Interlocked.CompareExchange(ref _lastSweep, now, last) != last)
        {
            return;
        }

        foreach (var (key, window) in _windows)
        {
            lock (window)
            {
                if (now - window.LastSecond >= SlidingWindow.Seconds)
                {
                    window.Retired = true;
                    _windows.TryRemove(new KeyValuePair<string, SlidingWindow>(key, window));
                }
            }
        }

        var at = DateTimeOffset.FromUnixTimeSeconds(now);
        foreach (var (key, set) in _sets)
        {
            lock (set)
            {
                if (at - set.LastSeen > set.Window)
                {
                    _sets.TryRemove(new KeyValuePair<string, DistinctSet>(key, set));
                }
            }
        }

        foreach (var (key, until) in _claims)
        {
            if (until <= at)
            {
                _claims.TryRemove(new KeyValuePair<string, DateTimeOffset>(key, until));
            }
        }
    }
}
