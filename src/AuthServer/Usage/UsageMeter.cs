using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using AuthServer.ApiKeys;
using AuthServer.Data;
using AuthServer.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AuthServer.Usage;

/// <summary>One counter of usage: an account's credential, in one minute, with one class of outcome.</summary>
internal readonly record struct UsageKey(string AccountId, string Credential, long Minute, string StatusClass);

/// <summary>
/// Counts every <c>/v1</c> call in memory and writes the counts to the database in batches: every
/// <see cref="UsageOptions.FlushInterval"/> and when the host stops. A request costs a dictionary lookup and an
/// interlocked increment: no lock (on two cores, a lock taken by every call is one a preempted holder makes everyone
/// wait on) and never a database write. If the database cannot be reached the counts are kept for the next round, and
/// rows are added to rather than overwritten, so several nodes can flush into the same minute.
/// Suspicious-activity events (<see cref="SuspiciousActivity"/>) travel the same way.
/// </summary>
internal sealed class UsageMeter(
    IServiceScopeFactory scopes, IOptions<UsageOptions> options, TimeProvider clock, ILogger<UsageMeter> logger) : BatchWriter(logger)
{
    // A counter is taken (its count swapped for zero) by each flush; one of a minute that has ended is taken for the
    // last time by swapping in Retired, after it has left the dictionary. A call that still held it sees a negative
    // count after its increment, and counts again in a fresh one: no call is lost, none counted twice.
    private const long Retired = long.MinValue / 2;

    private readonly ConcurrentDictionary<UsageKey, StrongBox<long>> _counters = new();
    private readonly Lock _alertsGate = new();
    private List<AuditEvent> _alerts = [];

    /// <summary>Counters held now (one per key, minute and outcome still open or not yet taken).</summary>
    internal int CounterCount => _counters.Count;

    public void Count(string accountId, string credential, int status) =>
        Add(new UsageKey(accountId, credential, clock.GetUtcNow().ToUnixTimeSeconds() / 60, UsageStatusClasses.Of(status)), 1);

    private void Add(UsageKey key, long count)
    {
        while (Interlocked.Add(ref _counters.GetOrAdd(key, static _ => new StrongBox<long>()).Value, count) < 0)
        {
            // The counter was retired between the lookup and the increment (its count is no longer read): count anew.
        }
    }

    /// <summary>Queues an audit event to be written with the next flush (off the request path).</summary>
    public void Alert(AuditEvent alert)
    {
        lock (_alertsGate)
        {
            _alerts.Add(alert);
        }
    }

    protected override TimeSpan Interval => options.Value.FlushInterval;

    /// <summary>Writes what was counted so far; what cannot be written is kept for the next call.</summary>
    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        var batch = Take();
        List<AuditEvent> alerts;
        lock (_alertsGate)
        {
            (alerts, _alerts) = (_alerts, []);
        }

        if (batch.Count == 0 && alerts.Count == 0)
        {
            return;
        }

        try
        {
            await WriteAsync(batch, alerts, cancellationToken);
        }
        catch (Exception exception) when (ApiKeyAuthenticator.IsDatabaseFailure(exception) || exception is DbUpdateException)
        {
            Requeue(batch, alerts);
            logger.LogWarning(exception, "Could not write {Count} usage counter(s); they are kept for the next flush.", batch.Count);
        }
        catch (OperationCanceledException)
        {
            Requeue(batch, alerts);
            throw;
        }
    }

    /// <summary>What was counted since the last take; counters of minutes that have ended are retired.</summary>
    internal Dictionary<UsageKey, long> Take()
    {
        // A call counts into the minute it read from the clock just before; one minute of grace covers any such call.
        var lastOpenMinute = clock.GetUtcNow().ToUnixTimeSeconds() / 60 - 1;
        var batch = new Dictionary<UsageKey, long>();
        foreach (var (key, counter) in _counters)
        {
            long count;
            if (key.Minute < lastOpenMinute && _counters.TryRemove(new KeyValuePair<UsageKey, StrongBox<long>>(key, counter)))
            {
                count = Interlocked.Exchange(ref counter.Value, Retired);
            }
            else
            {
                count = Interlocked.Exchange(ref counter.Value, 0);
            }

            if (count > 0)
            {
                batch[key] = count;
            }
        }

        return batch;
    }

    private async Task WriteAsync(Dictionary<UsageKey, long> batch, List<AuditEvent> alerts, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
        var strategy = context.Database.CreateExecutionStrategy();
        await strategy.ExecuteAsync(async () =>
        {
            context.ChangeTracker.Clear();
            await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken);
            foreach (var ((accountId, credential, minute, statusClass), count) in batch)
            {
                // Add to the row when it exists (another flush, or another node, wrote this minute), else insert it.
                var updated = await context.UsageRecords
                    .Where(r => r.AccountId == accountId && r.Minute == minute && r.Credential == credential && r.StatusClass == statusClass)
                    .ExecuteUpdateAsync(update => update.SetProperty(r => r.Count, r => r.Count + count), cancellationToken);
                if (updated == 0)
                {
                    context.UsageRecords.Add(new UsageRecord
                    {
                        AccountId = accountId,
                        Credential = credential,
                        Minute = minute,
                        StatusClass = statusClass,
                        Count = count,
                    });
                }
            }

            context.AuditEvents.AddRange(alerts);
            await context.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        });
    }

    private void Requeue(Dictionary<UsageKey, long> batch, List<AuditEvent> alerts)
    {
        foreach (var (key, count) in batch)
        {
            Add(key, count);
        }

        lock (_alertsGate)
        {
            _alerts.InsertRange(0, alerts);
        }
    }
}
