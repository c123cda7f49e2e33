namespace AuthServer.Observability;

/// <summary>Metrics, traces and request-scoped logs: what an operator watches.</summary>
internal static class ObservabilityExtensions
{
    public static IHostApplicationBuilder AddObservability(this IHostApplicationBuilder builder)
    {
        builder.Services.AddMetrics();
        builder.Services.AddSingleton<ServerMetrics>();
        return builder;
    }
}
