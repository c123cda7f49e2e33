using AuthServer.Core;
using AuthServer.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AuthServer.Retention;

/// <summary>Rows that no longer serve (spent tokens, old usage and audit events, withdrawn keys) removed on a schedule.</summary>
internal static class RetentionExtensions
{
    public static IHostApplicationBuilder AddRetention(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<RetentionOptions>()
            .BindConfiguration(RetentionOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RetentionOptions>>(new DescribedValidation<RetentionOptions>(RetentionOptions.Validate));
        services.TryAddSingleton<JobLeases>();
        services.AddScoped<Pruner>();
        services.AddHostedService<PruningService>();
        return builder;
    }
}
