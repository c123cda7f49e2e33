namespace AuthServer.Retention;

/// <summary>The <c>Retention</c> section: how long rows that no longer serve are kept before the pruner removes them.</summary>
public sealed class RetentionOptions
{
    public const string SectionName = "Retention";

    /// <summary>How long tokens and authorizations are kept once expired, redeemed, revoked or orphaned.</summary>
    public TimeSpan Tokens { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long per-minute usage rows are kept (the dashboard's charts and exports read them).</summary>
    public TimeSpan Usage { get; set; } = TimeSpan.FromDays(400);

    /// <summary>How long audit events are kept.</summary>
    public TimeSpan Audit { get; set; } = TimeSpan.FromDays(400);

    /// <summary>How long emails are kept in the outbox once sent or given up (their links are short-lived anyway).</summary>
    public TimeSpan Email { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often the pruner runs; one node at a time when several share the database.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Rows removed per statement: each batch is a short transaction, so token issuance never waits long.</summary>
    public int BatchSize { get; set; } = 500;

    internal static string? Validate(RetentionOptions options) =>
        options.Tokens < TimeSpan.Zero || options.Usage < TimeSpan.FromDays(1) || options.Audit < TimeSpan.FromDays(1)
            ? $"{SectionName}:Tokens must not be negative, and {SectionName}:Usage and {SectionName}:Audit must be at least a day (1.00:00:00)."
            : options.Interval < TimeSpan.FromSeconds(1)
                ? $"{SectionName}:Interval must be at least a second (00:00:01)."
                : options.BatchSize is < 10 or > 10_000
                    ? $"{SectionName}:BatchSize must be between 10 and 10000."
                    : null;
}
