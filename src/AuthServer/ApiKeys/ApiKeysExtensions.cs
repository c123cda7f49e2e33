using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AuthServer.ApiKeys;

internal static class ApiKeysExtensions
{
    public static IHostApplicationBuilder AddApiKeys(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ApiKeyOptions>()
            .BindConfiguration(ApiKeyOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(
                options => options.DefaultLifetimeDays <= options.MaxLifetimeDays,
                $"{ApiKeyOptions.SectionName}:DefaultLifetimeDays must not exceed {ApiKeyOptions.SectionName}:MaxLifetimeDays.")
            .ValidateOnStart();

        services.AddSingleton<ApiKeyUsageRecorder>();
        services.AddHostedService(provider => provider.GetRequiredService<ApiKeyUsageRecorder>());
        services.AddSingleton<ApiKeyAuthenticator>();
        services.AddScoped<ApiKeyService>();
        services.TryAddSingleton<Hosting.JobLeases>();
        services.AddSingleton<KeyExpiryReminders>();
        services.AddHostedService(provider => provider.GetRequiredService<KeyExpiryReminders>());
        return builder;
    }
}
