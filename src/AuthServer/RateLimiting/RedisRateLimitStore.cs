using AuthServer.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AuthServer.RateLimiting;

/// <summary>
/// Counters in Redis, so that every node behind a balancer enforces one limit together. Each key is a hash of
/// one-second buckets; one script reads the window, drops buckets that left it and counts the request, atomically,
/// on Redis's clock (so nodes with skewed clocks still agree).
/// While Redis cannot be reached the limits fall back to this node's own counters: the API keeps serving, a warning
/// is logged once, and the health check reports the degradation until Redis answers again.
/// </summary>
internal sealed partial class RedisRateLimitStore : IRateLimitStore, IHealthCheck, IDisposable
{
    // KEYS[1] the window; ARGV limit, cost, window seconds. Returns {admitted, total, reset, retry_after}.
    private const string Script = """
        local now = tonumber(redis.call('TIME')[1])
        local limit = tonumber(ARGV[1])
        local cost = tonumber(ARGV[2])
        local window = tonumber(ARGV[3])
        local fields = redis.call('HGETALL', KEYS[1])
        local buckets = {}
        local total = 0
        for i = 1, #fields, 2 do
          local second = tonumber(fields[i])
          local count = tonumber(fields[i + 1])
          if second > now - window and second <= now then
            total = total + count
            buckets[#buckets + 1] = { second, count }
          else
            redis.call('HDEL', KEYS[1], fields[i])
          end
        end
        local admitted = 0
        if (cost > 0 and total + cost <= limit) or (cost == 0 and total < limit) then admitted = 1 end
        if admitted == 1 and cost > 0 then
          redis.call('HINCRBY', KEYS[1], now, cost)
          redis.call('EXPIRE', KEYS[1], window + 1)
          total = total + cost
          buckets[#buckets + 1] = { now, cost }
        end
        table.sort(buckets, function(a, b) return a[1] < b[1] end)
        local reset = 0
        if #buckets > 0 then reset = buckets[1][1] + window - now end
        local retry = 0
        if admitted == 0 then
          local needed = math.max(cost, 1)
          local left = total
          retry = window
          for _, bucket in ipairs(buckets) do
            left = left - bucket[2]
            if left + needed <= limit then
              retry = bucket[1] + window - now
              break
            end
          end
        end
        return { admitted, total, reset, retry }
        """;

    // KEYS[1] the window; ARGV window seconds. Takes one count back from the most recent bucket holding one.
    private const string ReleaseScript = """
        local now = tonumber(redis.call('TIME')[1])
        local window = tonumber(ARGV[1])
        local fields = redis.call('HGETALL', KEYS[1])
        local latest = nil
        for i = 1, #fields, 2 do
          local second = tonumber(fields[i])
          if second > now - window and second <= now and tonumber(fields[i + 1]) > 0 and (latest == nil or second > latest) then
            latest = second
          end
        end
        if latest ~= nil then redis.call('HINCRBY', KEYS[1], latest, -1) end
        return 0
        """;

    // KEYS[1] a sorted set of members by the millisecond last seen; ARGV member, window ms, cap. Returns the count.
    private const string DistinctScript = """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local window = tonumber(ARGV[2])
        local cap = tonumber(ARGV[3])
        redis.call('ZADD', KEYS[1], now, ARGV[1])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
        local count = redis.call('ZCARD', KEYS[1])
        if count > cap then
          redis.call('ZREMRANGEBYRANK', KEYS[1], 0, count - cap - 1)
          count = cap
        end
        redis.call('PEXPIRE', KEYS[1], window)
        return count
        """;

    private readonly ConnectionMultiplexer _redis;
    private readonly LocalRateLimitStore _fallback;
    private readonly ILogger<RedisRateLimitStore> _logger;
    private readonly ServerMetrics _metrics;
    private readonly string _prefix;
    private int _degraded;

    public RedisRateLimitStore(
        IOptions<RateLimitOptions> options, LocalRateLimitStore fallback, ServerMetrics metrics, ILogger<RedisRateLimitStore> logger)
    {
        _metrics = metrics;
        _fallback = fallback;
        _logger = logger;
        _prefix = options.Value.RedisKeyPrefix;

        var configuration = ConfigurationOptions.Parse(options.Value.Redis!);
        configuration.AbortOnConnectFail = false;          // start even when Redis is down; reconnect in the background
        configuration.BacklogPolicy = BacklogPolicy.FailFast; // while disconnected, fail at once rather than queue
        configuration.ConnectTimeout = Math.Min(configuration.ConnectTimeout, 2000);
        configuration.AsyncTimeout = Math.Min(configuration.AsyncTimeout, 1000);
        configuration.ReconnectRetryPolicy = new LinearRetry(1000);
        _redis = ConnectionMultiplexer.Connect(configuration);
        _redis.ConnectionFailed += (_, args) => MarkDegraded(args.Exception);
        _redis.ConnectionRestored += (_, _) => MarkRestored();
        if (!_redis.IsConnected)
        {
            MarkDegraded(null);
        }
    }

    public bool IsDegraded => Volatile.Read(ref _degraded) == 1;

    /// <summary>The connection, for tracing its commands.</summary>
    public IConnectionMultiplexer Connection => _redis;

    public async ValueTask<RateLimitDecision> AcquireAsync(string key, int limit, int cost, CancellationToken cancellationToken)
    {
        if (!_redis.IsConnected)
        {
            MarkDegraded(null);
            return _fallback.Acquire(key, limit, cost);
        }

        try
        {
            var result = (RedisResult[])(await _redis.GetDatabase().ScriptEvaluateAsync(
                Script, [new RedisKey(_prefix + key)], [limit, cost, SlidingWindow.Seconds]))!;
            MarkRestored();
            var total = (int)result[1];
            return new RateLimitDecision((int)result[0] == 1, limit, Math.Max(0, limit - total), (int)result[2], (int)result[3]);
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            MarkDegraded(exception);
            return _fallback.Acquire(key, limit, cost);
        }
    }

    public async ValueTask ReleaseAsync(string key, CancellationToken cancellationToken)
    {
        if (!_redis.IsConnected)
        {
            _fallback.Release(key);
            return;
        }

        try
        {
            await _redis.GetDatabase().ScriptEvaluateAsync(ReleaseScript, [new RedisKey(_prefix + key)], [SlidingWindow.Seconds]);
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            MarkDegraded(exception);
            _fallback.Release(key);
        }
    }

    public async ValueTask<int> CountDistinctAsync(string key, string member, TimeSpan window, int cap, CancellationToken cancellationToken)
    {
        if (!_redis.IsConnected)
        {
            MarkDegraded(null);
            return await _fallback.CountDistinctAsync(key, member, window, cap, cancellationToken);
        }

        try
        {
            return (int)await _redis.GetDatabase().ScriptEvaluateAsync(
                DistinctScript, [new RedisKey(_prefix + key)], [member, (long)window.TotalMilliseconds, cap]);
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            MarkDegraded(exception);
            return await _fallback.CountDistinctAsync(key, member, window, cap, cancellationToken);
        }
    }

    public async ValueTask<bool> TryClaimAsync(string key, TimeSpan period, CancellationToken cancellationToken)
    {
        if (!_redis.IsConnected)
        {
            MarkDegraded(null);
            return await _fallback.TryClaimAsync(key, period, cancellationToken);
        }

        try
        {
            return await _redis.GetDatabase().StringSetAsync(_prefix + key, 1, period, When.NotExists);
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            MarkDegraded(exception);
            return await _fallback.TryClaimAsync(key, period, cancellationToken);
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_redis.IsConnected && !IsDegraded
            ? HealthCheckResult.Healthy("Rate limits are shared through Redis.")
            : HealthCheckResult.Degraded("Redis cannot be reached: rate limits are enforced per node until it is back."));

    private void MarkDegraded(Exception? exception)
    {
        if (Interlocked.Exchange(ref _degraded, 1) == 0)
        {
            _metrics.RedisDegraded(true);
            LogRedisDown(_logger, exception);
        }
    }

    private void MarkRestored()
    {
        if (_redis.IsConnected && Interlocked.Exchange(ref _degraded, 0) == 1)
        {
            _metrics.RedisDegraded(false);
            LogRedisBack(_logger);
        }
    }

    public void Dispose() => _redis.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis cannot be reached: rate limits fall back to per-node counters until it is back.")]
    private static partial void LogRedisDown(ILogger logger, Exception? exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis is reachable again: rate limits are shared across nodes.")]
    private static partial void LogRedisBack(ILogger logger);
}
