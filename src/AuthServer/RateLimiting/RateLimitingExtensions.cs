using System.Globalization;
using AuthServer.Health;
using AuthServer.OAuth;
using AuthServer.PlatformApi;
using AuthServer.Usage;
using Microsoft.Extensions.Options;

namespace AuthServer.RateLimiting;

/// <summary>Limits by tier on <c>/v1</c>, per-IP limits on failures elsewhere, and usage metering.</summary>
internal static class RateLimitingExtensions
{
    public static IServiceCollection AddRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RateLimitOptions>()
            .BindConfiguration(RateLimitOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RateLimitOptions>>(new DescribedValidation<RateLimitOptions>(RateLimitOptions.Validate));
        services.AddOptions<UsageOptions>()
            .BindConfiguration(UsageOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<UsageOptions>>(new DescribedValidation<UsageOptions>(UsageOptions.Validate));

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
            health.AddCheck<RedisRateLimitStore>("rate_limits_redis", tags: [HealthExtensions.ReadyTag]);
        }

        services.AddSingleton<PayerResolver>();
        services.AddSingleton<FailureLimits>();
        services.AddSingleton<UsageMeter>();
        services.AddHostedService(provider => provider.GetRequiredService<UsageMeter>());
        services.AddSingleton<SuspiciousActivity>();
        services.AddScoped<UsageQueries>();
        return services;
    }

    /// <summary>
    /// Refuses the token, introspection and revocation endpoints to a client IP whose clients failed to authenticate
    /// too often. Only failed client authentication counts (an unknown client, a wrong secret): an authenticated
    /// client's <c>invalid_grant</c> (a double-submitted code, a lost refresh race) never locks out the other clients
    /// behind the same address. Goes before authentication: OpenIddict answers inside the authentication middleware.
    /// </summary>
    public static IApplicationBuilder UseTokenFailureLimits(this IApplicationBuilder app) =>
        app.UseWhen(
            context => HttpMethods.IsPost(context.Request.Method) && IsClientAuthenticated(context.Request.Path),
            branch => branch.Use(async (context, next) =>
            {
                var guard = context.RequestServices.GetRequiredService<FailureLimits>();
                var gate = await guard.CheckAsync(FailureLimits.Token, context, context.RequestAborted);
                if (!gate.Admitted)
                {
                    context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                    context.Response.Headers.RetryAfter = gate.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                    context.Response.Headers.CacheControl = "no-store";
                    await context.Response.WriteAsJsonAsync(new OAuthError(
                        "rate_limit_exceeded", "Too many failed client authentications from this address; retry later."));
                    return;
                }

                await next(context);
                if (ClientAuthenticationFailures.Failed(context))
                {
                    await guard.RecordAsync(FailureLimits.Token, context, context.RequestAborted);
                }
            }));

    private static bool IsClientAuthenticated(PathString path) =>
        path.Equals(OAuthServerExtensions.TokenPath, StringComparison.OrdinalIgnoreCase)
        || path.Equals(OAuthServerExtensions.IntrospectionPath, StringComparison.OrdinalIgnoreCase)
        || path.Equals(OAuthServerExtensions.RevocationPath, StringComparison.OrdinalIgnoreCase);

    private sealed class DescribedValidation<T>(Func<T, string?> validate) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options) =>
            validate(options) is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;
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

    private static string Key(string kind, HttpContext context) => kind + "fail:" + PlatformGate.ClientIp(context);
}
