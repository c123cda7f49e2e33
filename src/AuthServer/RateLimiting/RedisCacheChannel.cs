using AuthServer.Core;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AuthServer.RateLimiting;

/// <summary>
/// The channel between nodes for <see cref="CacheInvalidations"/>: a Redis pub/sub channel on the rate limits' Redis.
/// Each message names the node that sent it, the cache and the key (none: the whole cache). A node that lost its
/// connection may have missed messages, so when it is back it forgets everything it cached; one that could not send
/// tells every node to do the same.
/// </summary>
internal sealed partial class RedisCacheChannel(
    RedisRateLimitStore redis,
    CacheInvalidations invalidations,
    IOptions<RateLimitOptions> options,
    ILogger<RedisCacheChannel> logger) : IHostedService, ICacheChannel
{
    private readonly string _node = Guid.NewGuid().ToString("N");
    private int _subscribed;
    private int _unsent;

    private RedisChannel Channel => RedisChannel.Literal(options.Value.RedisKeyPrefix + "invalidations");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        redis.Connection.ConnectionRestored += (_, _) => _ = RestoredAsync();
        invalidations.Connect(this);
        await SubscribeAsync();
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Publish(string cache, string? key)
    {
        if (!redis.Connection.IsConnected)
        {
            Volatile.Write(ref _unsent, 1);
            return;
        }

        try
        {
            redis.Connection.GetSubscriber().Publish(Channel, $"{_node} {cache} {key}", CommandFlags.FireAndForget);
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            // The others will forget everything when this node can reach Redis again.
            Volatile.Write(ref _unsent, 1);
            LogUnsent(logger, cache, exception);
        }
    }

    public async Task<bool> PublishAsync(string cache, string? key, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!redis.Connection.IsConnected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        try
        {
            await redis.Connection.GetSubscriber().PublishAsync(Channel, $"{_node} {cache} {key}");
            return true;
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            LogUnsent(logger, cache, exception);
            return false;
        }
    }

    private void Receive(RedisValue message)
    {
        var parts = ((string?)message ?? "").Split(' ', 3);
        if (parts.Length == 3 && parts[0] != _node)
        {
            invalidations.Apply(parts[1], parts[2].Length == 0 ? null : parts[2]);
        }
    }

    private async Task RestoredAsync()
    {
        invalidations.Apply(CacheInvalidations.All, null);
        if (Volatile.Read(ref _subscribed) == 0)
        {
            await SubscribeAsync();
        }

        if (Interlocked.Exchange(ref _unsent, 0) == 1)
        {
            Publish(CacheInvalidations.All, null);
        }
    }

    private async Task SubscribeAsync()
    {
        try
        {
            await redis.Connection.GetSubscriber().SubscribeAsync(Channel, (_, message) => Receive(message));
            Volatile.Write(ref _subscribed, 1);
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            // Subscribed again when the connection is restored; until then the cache durations bound staleness.
            LogNotSubscribed(logger, exception);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not tell the other nodes that the {Cache} cache changed; they will empty their caches when Redis is back.")]
    private static partial void LogUnsent(ILogger logger, string cache, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not subscribe to the cache invalidation channel; other nodes' changes are seen when cache entries expire, until Redis is back.")]
    private static partial void LogNotSubscribed(ILogger logger, Exception exception);
}
