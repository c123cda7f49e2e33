using System.Net;
using AuthServer.Core;
using AuthServer.Health;
using AuthServer.RateLimiting;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AuthServer.Observability;

/// <summary>
/// Metrics and traces with OpenTelemetry: the server's own meter (<see cref="ServerMetrics"/>), ASP.NET Core, the
/// HTTP client, the runtime, EF Core and Redis. Exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set
/// (the exporter reads the other <c>OTEL_*</c> variables itself), and served to Prometheus when
/// <see cref="ObservabilityOptions.PrometheusPath"/> is set. With neither, nothing is collected and nothing costs.
/// </summary>
internal static class ObservabilityExtensions
{
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public static IHostApplicationBuilder AddObservability(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddMetrics();
        services.AddSingleton<ServerMetrics>();
        services.AddOptions<ObservabilityOptions>()
            .BindConfiguration(ObservabilityOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ObservabilityOptions>>(new DescribedValidation<ObservabilityOptions>(ObservabilityOptions.Validate));

        var settings = builder.Configuration.GetSection(ObservabilityOptions.SectionName).Get<ObservabilityOptions>() ?? new ObservabilityOptions();
        if (settings.JsonLogs)
        {
            builder.Logging.AddJsonConsole(json =>
            {
                json.IncludeScopes = true;
                json.UseUtcTimestamp = true;
                json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            });
        }

        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointVariable]);
        var prometheus = !string.IsNullOrEmpty(settings.PrometheusPath);
        if (!otlp && !prometheus)
        {
            return builder;
        }

        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(
                settings.ServiceName,
                serviceVersion: typeof(ObservabilityExtensions).Assembly.GetName().Version?.ToString(),
                serviceInstanceId: $"{Environment.MachineName}/{Environment.ProcessId}"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(ServerMetrics.MeterName)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation();
                if (prometheus)
                {
                    metrics.AddPrometheusExporter();
                }
            });

        if (otlp)
        {
            telemetry.WithTracing(tracing =>
            {
                // A share of the requests, unless the standard variable chooses (a caller's sampled trace is always
                // followed): tracing every request costs the cheapest endpoints a fifth of their throughput.
                if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_TRACES_SAMPLER"]))
                {
                    tracing.SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(settings.TraceSampleRatio)));
                }

                tracing.AddAspNetCoreInstrumentation(options => options.Filter = context => !IsUnmeasured(context.Request.Path, settings))
                    .AddHttpClientInstrumentation()
                    .AddEntityFrameworkCoreInstrumentation();
                if (!string.IsNullOrWhiteSpace(builder.Configuration[$"{RateLimitOptions.SectionName}:{nameof(RateLimitOptions.Redis)}"]))
                {
                    tracing.AddRedisInstrumentation();
                }
            });
            telemetry.UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>
    /// Serves the Prometheus scrape path, when configured: on <see cref="ObservabilityOptions.PrometheusPort"/> only if
    /// set, otherwise to loopback callers only (after forwarded headers, so a request relayed by a local proxy counts
    /// as the remote caller it is).
    /// </summary>
    public static WebApplication UseObservability(this WebApplication app)
    {
        var settings = app.Services.GetRequiredService<IOptions<ObservabilityOptions>>().Value;
        if (settings.PrometheusPath is { Length: > 0 })
        {
            app.UseOpenTelemetryPrometheusScrapingEndpoint(context => IsScrape(context, settings));
        }

        return app;
    }

    /// <summary>A request for the scrape path that may be answered: plain HTTP is fine for it, as for health probes.</summary>
    public static bool IsScrape(HttpContext context, ObservabilityOptions settings) =>
        settings.PrometheusPath is { Length: > 0 } path
        && context.Request.Path.Equals(path, StringComparison.Ordinal)
        && (settings.PrometheusPort is { } port
            ? context.Connection.LocalPort == port
            : context.Connection.RemoteIpAddress is { } address && IPAddress.IsLoopback(address));

    private static bool IsUnmeasured(PathString path, ObservabilityOptions settings) =>
        HealthExtensions.IsProbe(path)
        || (settings.PrometheusPath is { Length: > 0 } scrape && path.Equals(scrape, StringComparison.Ordinal));
}
