using AuthServer.Core;
using Microsoft.Extensions.Options;

namespace AuthServer.OAuth.Keys;

/// <summary>
/// Keeps this node's keys in step with the database: reads the keys table every
/// <see cref="ServerKeyOptions.RefreshInterval"/> and at each moment a key changes status (an announced key becomes
/// current at the same instant on every node), announces the next key when a rotation is due, and hands the result
/// to <see cref="ServerKeySet"/>. A database that cannot be reached leaves the keys in use as they are.
/// </summary>
internal sealed class ServerKeyRotation(
    ServerKeyStore store,
    ServerKeySet keys,
    AccessTokenStatus tokens,
    IOptions<ServerKeyOptions> options,
    TimeProvider clock,
    ILogger<ServerKeyRotation> logger) : BackgroundService
{
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
                await Task.Delay(wait, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
