using AuthServer.Core;
using AuthServer.Data;
using AuthServer.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AuthServer.Usage;

/// <summary>One counter of usage: an account's credential, in one minute, with one class of outcome.</summary>
internal readonly record struct UsageKey(string AccountId, string Credential, long Minute, string StatusClass);

/// <summary>
/// Counts every <c>/v1</c> call in memory and writes the counts to the database in batches: every
/// <see cref="UsageOptions.FlushInterval"/> and when the host stops. A request costs a dictionary update under a
/// short lock, never a database write. If the database cannot be reached the counts are kept for the next round, and
/// rows are added to rather than overwritten, so several nodes can flush into the same minute.
/// Suspicious-activity events (<see cref="SuspiciousActivity"/>) travel the same way, with the emails to the keys'
/// owners that they cause (<see cref="SecurityAlertEmails"/>).
/// </summary>
internal sealed class UsageMeter(
    IServiceScopeFactory scopes,
    IOptions<UsageOptions> options,
    IOptions<OAuth.OAuthOptions> oauth,
    Email.EmailSender email,
    ServerMetrics metrics,
    TimeProvider clock,
    ILogger<UsageMeter> logger)
    : BatchWriter(logger)
{
    private readonly Lock _gate = new();
    private Dictionary<UsageKey, long> _pending = [];
    private List<AuditEvent> _alerts = [];

    public void Count(string accountId, string credential, int status)
    {
        var key = new UsageKey(accountId, credential, clock.GetUtcNow().ToUnixTimeSeconds() / 60, UsageStatusClasses.Of(status));
        lock (_gate)
        {
            _pending[key] = _pending.GetValueOrDefault(key) + 1;
        }
    }

    /// <summary>Queues an audit event to be written with the next flush (off the request path).</summary>
    public void Alert(AuditEvent alert)
    {
        lock (_gate)
        {
            _alerts.Add(alert);
        }
    }

    protected override TimeSpan Interval => options.Value.FlushInterval;

    /// <summary>Writes what was counted so far; what cannot be written is kept for the next call.</summary>
    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        Dictionary<UsageKey, long> batch;
        List<AuditEvent> alerts;
        lock (_gate)
        {
            if (_pending.Count == 0 && _alerts.Count == 0)
            {
                metrics.UsageFlushed();
                return;
            }

            (batch, _pending) = (_pending, []);
            (alerts, _alerts) = (_alerts, []);
        }

        try
        {
            await WriteAsync(batch, alerts, cancellationToken);
            metrics.UsageFlushed();
        }
        catch (Exception exception) when (DatabaseFailures.IsDatabaseFailure(exception) || exception is DbUpdateException)
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
            await SecurityAlertEmails.StageAsync(context, alerts, oauth.Value.Issuer, clock.GetUtcNow(), cancellationToken);
            await context.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        });
        if (alerts.Count > 0)
        {
            email.Wake();
        }
    }

    private void Requeue(Dictionary<UsageKey, long> batch, List<AuditEvent> alerts)
    {
        lock (_gate)
        {
            foreach (var (key, count) in batch)
            {
                _pending[key] = _pending.GetValueOrDefault(key) + count;
            }

            _alerts.AddRange(alerts);
        }
    }
}
