using AuthServer.Core;
using AuthServer.Hosting;
using Microsoft.Extensions.Options;

namespace AuthServer.Retention;

/// <summary>
/// Runs the <see cref="Pruner"/> every <see cref="RetentionOptions.Interval"/>. When several nodes share the
/// database, the one holding the <c>prune</c> lease runs it; the lease lasts an interval, so the nodes together
/// prune once per interval.
/// </summary>
internal sealed class PruningService(
    IServiceScopeFactory scopes, JobLeases leases, IOptions<RetentionOptions> options, TimeProvider clock, ILogger<PruningService> logger)
    : BackgroundService
{
    public const string LeaseName = "prune";

    /// <summary>Runs one pass and records what it removed.</summary>
    public static async Task<PruneResult> RunOnceAsync(IServiceScopeFactory scopes, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var result = await scope.ServiceProvider.GetRequiredService<Pruner>().PruneAsync(cancellationToken);
        var metrics = scope.ServiceProvider.GetRequiredService<ServerMetrics>();
        metrics.Pruned("tokens", result.Tokens);
        metrics.Pruned("authorizations", result.Authorizations);
        metrics.Pruned("usage", result.Usage);
        metrics.Pruned("audit", result.Audit);
        metrics.Pruned("keys", result.Keys);
        metrics.Pruned("emails", result.Emails);
        return result;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.Interval;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, clock, stoppingToken);
                if (!await leases.TryAcquireAsync(LeaseName, interval * 0.9, stoppingToken))
                {
                    continue;
                }

                var result = await RunOnceAsync(scopes, stoppingToken);
                if (result.Total > 0)
                {
                    logger.LogInformation(
                        "Pruned {Tokens} tokens, {Authorizations} authorizations, {Usage} usage rows, {Audit} audit events and {Keys} keys.",
                        result.Tokens, result.Authorizations, result.Usage, result.Audit, result.Keys);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (DatabaseFailures.IsDatabaseFailure(exception))
            {
                logger.LogWarning(exception, "Pruning failed; it runs again in {Interval}.", interval);
            }
        }
    }
}
