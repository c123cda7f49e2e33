namespace AuthServer.Usage;

/// <summary>The <c>Usage</c> section: how usage is flushed and what counts as suspicious.</summary>
public sealed class UsageOptions
{
    public const string SectionName = "Usage";

    /// <summary>How often counted usage is written to the database (it is also written when the host stops).</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>401/403 answers within a minute, against one key or from one IP, that make a burst worth recording.</summary>
    public int FailureBurst { get; set; } = 20;

    /// <summary>Distinct client IPs using one key within <see cref="DistinctIpWindow"/> that are worth recording.</summary>
    public int DistinctIps { get; set; } = 10;

    public TimeSpan DistinctIpWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long after recording one suspicious event the same kind is not recorded again for the same key or IP.</summary>
    public TimeSpan AlertCooldown { get; set; } = TimeSpan.FromMinutes(10);

    internal static string? Validate(UsageOptions options) =>
        options.FlushInterval < TimeSpan.FromMilliseconds(100) || options.FlushInterval > TimeSpan.FromMinutes(5)
            ? $"{SectionName}:FlushInterval must be between 00:00:00.1 and 00:05:00."
            : options.FailureBurst < 2 || options.DistinctIps < 2
                ? $"{SectionName}:FailureBurst and {SectionName}:DistinctIps must be at least 2."
                : options.DistinctIpWindow < TimeSpan.FromMinutes(1) || options.AlertCooldown < TimeSpan.Zero
                    ? $"{SectionName}:DistinctIpWindow must be at least a minute and AlertCooldown not negative."
                    : null;
}
