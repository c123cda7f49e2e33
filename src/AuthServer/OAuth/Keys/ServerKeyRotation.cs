using AuthServer.Core;
using Microsoft.Extensions.Options;

namespace AuthServer.OAuth.Keys;

/// <summary>
/// Keeps this node's keys in step with the database: reads the keys table every
/// <see cref="ServerKeyOptions.RefreshInterval"/> and at each moment a key changes status (an announced key becomes
/// current at the same instant on every node), announces the next key when a rotation is due, and hands the result
/// to <see cref="ServerKeySet"/>. A database that cannot be reached leaves the keys in use as they are. A rotation
/// made elsewhere (another node, <c>keys rotate</c>) and announced on the channel between nodes
/// (<see cref="CacheInvalidations"/>, cache <see cref="CacheName"/>) has the keys read at once.
/// </summary>
internal sealed class ServerKeyRotation(
    ServerKeyStore store,
    ServerKeySet keys,
    AccessTokenStatus tokens,
    IOptions<ServerKeyOptions> options,
    CacheInvalidations invalidations,
    TimeProvider clock,
    ILogger<ServerKeyRotation> logger) : BackgroundService
{
    public const string CacheName = "server_keys";

    private readonly SemaphoreSlim _wake = WakeOnMessage(invalidations);

    /// <summary>Reads the keys and applies them; what the start-up and the command line call too.</summary>
    public async Task<IReadOnlyList<ServerKeyState>> RefreshAsync(CancellationToken cancellationToken)
    {
        var states = await store.EnsureAsync(cancellationToken);
        if (keys.Apply(states, store.Unprotect))
        {
            // Answers remembered about tokens (introspection) are asked again: a key may have been withdrawn.
            tokens.InvalidateAll();
            logger.LogInformation("Keys in use: {Keys}.", keys.Fingerprint);
        }

        return states;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = options.Value.RefreshInterval;
            try
            {
                var states = await RefreshAsync(stoppingToken);
                var now = clock.GetUtcNow();
                var next = states
                    .SelectMany(state => new[] { state.Status == ServerKeyStatus.Announced ? state.Key.ActivatesAt : null as DateTimeOffset?, state.RemovedAt })
                    .Where(moment => moment > now)
                    .Min();
                if (next is { } change && change - now < wait)
                {
                    // A moment after the change, so that it has happened when the keys are read.
                    wait = change - now + TimeSpan.FromMilliseconds(50);
                }
            }
            catch (Exception exception) when (DatabaseFailures.IsDatabaseFailure(exception))
            {
                logger.LogWarning(exception, "Could not read the signing keys; the keys in use stay until the database answers.");
            }

            try
            {
                using var woken = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                var wake = _wake.WaitAsync(woken.Token);
                await Task.WhenAny(Task.Delay(wait, clock, woken.Token), wake);
                await woken.CancelAsync();
                stoppingToken.ThrowIfCancellationRequested();
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static SemaphoreSlim WakeOnMessage(CacheInvalidations invalidations)
    {
        var wake = new SemaphoreSlim(0);
        invalidations.Register(CacheName, _ => wake.Release());
        return wake;
    }
}
