using System.Collections.Concurrent;
using AuthServer.Core;
using AuthServer.Data;
using AuthServer.Hosting;
using Microsoft.EntityFrameworkCore;

namespace AuthServer.ApiKeys;

/// <summary>
/// Remembers when keys were last used and writes it to the database in batches: at most once a minute per key,
/// never on the request path, and once more when the host stops.
/// </summary>
internal sealed class ApiKeyUsageRecorder(IServiceScopeFactory scopes, ILogger<ApiKeyUsageRecorder> logger) : BatchWriter(logger)
{
    internal static readonly TimeSpan Resolution = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, DateTimeOffset> _recorded = new(StringComparer.Ordinal);
    private ConcurrentDictionary<string, DateTimeOffset> _pending = new(StringComparer.Ordinal);

    /// <summary>Notes a use; costs a dictionary lookup, and a second one at most once a minute per key.</summary>
    public void Touch(string keyId, DateTimeOffset now)
    {
        if (_recorded.TryGetValue(keyId, out var last) && now - last < Resolution)
        {
            return;
        }

        _recorded[keyId] = now;
        _pending[keyId] = now;
    }

    protected override TimeSpan Interval => FlushInterval;

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        var batch = Interlocked.Exchange(ref _pending, new ConcurrentDictionary<string, DateTimeOffset>(StringComparer.Ordinal));
        if (batch.IsEmpty)
        {
            return;
        }

        await using var scope = scopes.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
        var items = batch.ToList();
        for (var i = 0; i < items.Count; i++)
        {
            var (keyId, usedAt) = items[i];
            try
            {
                await context.ApiKeys.Where(key => key.Id == keyId)
                    .ExecuteUpdateAsync(update => update.SetProperty(key => key.LastUsedAt, usedAt), cancellationToken);
            }
            catch (Exception exception) when (DatabaseFailures.IsDatabaseFailure(exception))
            {
                // Keep what is left for the next round rather than lose it.
                foreach (var (id, at) in items.Skip(i))
                {
                    _pending.TryAdd(id, at);
                }

                logger.LogWarning(exception, "Could not record the last use of {Count} key(s); will retry.", items.Count - i);
                return;
            }
        }
    }
}
