using AuthServer.Core;
using AuthServer.Health;
using Microsoft.Extensions.Options;

namespace AuthServer.RateLimiting;

/// <summary>Limits by tier on <c>/v1</c>, and limits on failures (per address, or per address and account).</summary>
internal static class RateLimitingExtensions
{
    public static IHostApplicationBuilder AddRateLimits(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.AddOptions<RateLimitOptions>()
            .BindConfiguration(RateLimitOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RateLimitOptions>>(new DescribedValidation<RateLimitOptions>(RateLimitOptions.Validate));

        services.AddSingleton<LocalRateLimitStore>();
        var health = services.AddHealthChecks();
        if (string.IsNullOrWhiteSpace(configuration[$"{RateLimitOptions.SectionName}:Redis"]))
        {
            services.AddSingleton<IRateLimitStore>(provider => provider.GetRequiredService<LocalRateLimitStore>());
        }
        else
        {
            services.AddSingleton<RedisRateLimitStore>();
            services.AddSingleton<IRateLimitStore>(provider => provider.GetRequiredService<RedisRateLimitStore>());
            services.AddSingleton<StackExchange.Redis.IConnectionMultiplexer>(provider => provider.GetRequiredService<RedisRateLimitStore>().Connection);
            health.AddCheck<RedisRateLimitStore>("rate_limits_redis", tags: [HealthExtensions.ReadyTag]);
            services.AddSingleton<RedisCacheChannel>();
            services.AddSingleton<ICacheChannel>(provider => provider.GetRequiredService<RedisCacheChannel>());
            services.AddHostedService(provider => provider.GetRequiredService<RedisCacheChannel>());
        }

        services.AddSingleton<PayerResolver>();
        services.AddSingleton<FailureLimits>();
        return builder;
    }
}

/// <summary>
/// Limits on failures, against brute force: failed token requests and failed API-key or token authentications on
/// <c>/v1</c> per client IP; failed sign-ins per client IP and account together. Only failures count, so a busy
/// legitimate caller behind one address is never held back.
/// </summary>
internal sealed class FailureLimits(IRateLimitStore store, IOptions<RateLimitOptions> options)
{
    public const string SignIn = "signin";
    public const string Token = "token";
    public const string ApiKey = "key";

    /// <summary>Whether the client IP is still under the limit (counts nothing).</summary>
    public ValueTask<RateLimitDecision> CheckAsync(string kind, HttpContext context, CancellationToken cancellationToken) =>
        store.AcquireAsync(Key(kind, context), Limit(kind), 0, cancellationToken);

    /// <summary>Counts a failure of the client IP.</summary>
    public ValueTask<RateLimitDecision> RecordAsync(string kind, HttpContext context, CancellationToken cancellationToken) =>
        store.AcquireAsync(Key(kind, context), Limit(kind), 1, cancellationToken);

    /// <summary>
    /// Counts an attempt on <paramref name="subject"/> from the client IP as a failure before it is made, in one atomic
    /// step with the check (refused once the limit is reached); <see cref="ForgiveAsync"/> takes it back if it succeeds.
    /// </summary>
    public ValueTask<RateLimitDecision> AttemptAsync(string kind, HttpContext context, string subject, CancellationToken cancellationToken) =>
        store.AcquireAsync(Key(kind, context) + "|" + subject, Limit(kind), 1, cancellationToken);

    /// <summary>The attempt counted by <see cref="AttemptAsync"/> succeeded: it was no failure.</summary>
    public ValueTask ForgiveAsync(string kind, HttpContext context, string subject, CancellationToken cancellationToken) =>
        store.ReleaseAsync(Key(kind, context) + "|" + subject, cancellationToken);

    private int Limit(string kind) => kind switch
    {
        SignIn => options.Value.SignInFailuresPerMinute,
        Token => options.Value.TokenFailuresPerMinute,
        _ => options.Value.KeyFailuresPerMinute,
    };

    private static string Key(string kind, HttpContext context) => kind + "fail:" + ClientAddress.Of(context);
}
