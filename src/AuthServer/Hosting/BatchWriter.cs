namespace AuthServer.Hosting;

/// <summary>
/// A background service that gathers in memory what requests report and writes it in batches: every
/// <see cref="Interval"/>, and once more when the host stops, so that a graceful stop loses nothing gathered.
/// </summary>
internal abstract class BatchWriter(ILogger logger) : BackgroundService
{
    protected abstract TimeSpan Interval { get; }

    /// <summary>Writes what was gathered; what cannot be written stays for the next call.</summary>
    public abstract Task FlushAsync(CancellationToken cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: the final flush happens in StopAsync.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await FlushAsync(cancellationToken);
        }
        catch (ObjectDisposedException exception)
        {
            // Note: the host stops hosted services before disposing its services; only a host torn down out of
            // order (some test harnesses) gets here.
            logger.LogWarning(exception, "{Writer} could not write its last batch at shutdown.", GetType().Name);
        }
    }
}
