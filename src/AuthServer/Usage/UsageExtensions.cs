using AuthServer.Core;
using Microsoft.Extensions.Options;

namespace AuthServer.Usage;

/// <summary>Usage of the platform API, counted in memory and written in batches, and the activity worth an alert.</summary>
internal static class UsageExtensions
{
    public static IHostApplicationBuilder AddUsage(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<UsageOptions>()
            .BindConfiguration(UsageOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<UsageOptions>>(new DescribedValidation<UsageOptions>(UsageOptions.Validate));

        services.AddSingleton<UsageMeter>();
        services.AddHostedService(provider => provider.GetRequiredService<UsageMeter>());
        services.AddSingleton<SuspiciousActivity>();
        services.AddScoped<UsageQueries>();
        return builder;
    }
}
