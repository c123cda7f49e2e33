namespace AuthServer.Observability;

/// <summary>
/// The <c>Observability</c> section. Metrics and traces are exported over OTLP when the standard
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> variable is set; metrics are also served for Prometheus to scrape when
/// <see cref="PrometheusPath"/> is set. With neither, nothing is collected.
/// </summary>
public sealed class ObservabilityOptions
{
    public const string SectionName = "Observability";

    /// <summary>The scrape path, for example <c>/metrics</c>; served to loopback callers only, unless
    /// <see cref="PrometheusPort"/> is set.</summary>
    public string? PrometheusPath { get; set; }

    /// <summary>A port of its own for the scrape path (it must also be one the server listens on, e.g. in
    /// <c>--urls</c>): the path answers there, to any caller, and nowhere else.</summary>
    public int? PrometheusPort { get; set; }

    /// <summary>Console logs as one JSON object per line, each with the request id of the request it belongs to.</summary>
    public bool JsonLogs { get; set; }

    /// <summary>The share of requests traced when <c>OTEL_TRACES_SAMPLER</c> is not set (a request that arrives in a
    /// sampled trace is always traced).</summary>
    public double TraceSampleRatio { get; set; } = 0.05;

    /// <summary>The <c>service.name</c> reported with every metric and trace.</summary>
    public string ServiceName { get; set; } = "authserver";

    internal static string? Validate(ObservabilityOptions options) =>
        options.PrometheusPath is { } path && (!path.StartsWith('/') || path.Length < 2)
            ? $"{SectionName}:PrometheusPath must be a path such as /metrics."
            : options.PrometheusPort is < 1 or > 65535
                ? $"{SectionName}:PrometheusPort must be a TCP port (1-65535)."
                : options.PrometheusPort is not null && options.PrometheusPath is null
                    ? $"{SectionName}:PrometheusPort needs {SectionName}:PrometheusPath."
                    : options.TraceSampleRatio is < 0 or > 1
                        ? $"{SectionName}:TraceSampleRatio must be between 0 and 1."
                        : null;
}
