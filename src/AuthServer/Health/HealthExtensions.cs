using AuthServer.Core;
using AuthServer.Data;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AuthServer.Health;

/// <summary><c>/healthz</c> says the process is alive; <c>/readyz</c> says it can reach its database.</summary>
internal static class HealthExtensions
{
    public const string ReadyTag = "ready";

    public static IHostApplicationBuilder AddHealth(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddHealthChecks().AddDbContextCheck<AuthDbContext>("database", tags: [ReadyTag]);
        return builder;
    }

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks(Routes.Healthz, new HealthCheckOptions { Predicate = _ => false });
        endpoints.MapHealthChecks(Routes.Readyz, new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
        return endpoints;
    }

    /// <summary>Load balancers probe over plain HTTP on the internal network; these paths reveal nothing.</summary>
    public static bool IsProbe(PathString path) =>
        path.Equals(Routes.Healthz, StringComparison.Ordinal) || path.Equals(Routes.Readyz, StringComparison.Ordinal);
}
