using System.ComponentModel.DataAnnotations;

namespace AuthServer.Core;

/// <summary>
/// The <c>Caching</c> section: how long a node may serve what it read from the database before reading it again.
/// Each is also how long another node may serve a stale entry after a change; the node that made the change forgets
/// it at once (<see cref="NodeCache{TValue}.Invalidate"/>). Zero turns a cache off.
/// </summary>
public sealed class CachingOptions
{
    public const string SectionName = "Caching";

    /// <summary>API keys by hash: a revocation made on another node reaches this one within this time.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan ApiKeys { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>OAuth clients and scopes (acceleration layer): a deleted client, a rotated secret or an edited scope on
    /// another node is seen within this time.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan Clients { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether an access token or its grant was revoked, for <c>/v1</c> and <c>/admin</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan TokenStatus { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>An <c>"active": true</c> introspection answer about an access token, repeated to the same client with
    /// the same secret (acceleration layer; never past the token's <c>exp</c>).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan Introspection { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Who pays for a key's or an app's calls, the account's tier and its profile.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan Payers { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Registers the <c>Caching</c> section, checked at start-up.</summary>
internal static class CachingExtensions
{
    // The keys these durations had before the Caching section, still read (the new key wins), so that an operator's
    // existing configuration keeps its meaning; docs/configuration.md lists them.
    private static readonly (string OldKey, Action<CachingOptions, TimeSpan> Set)[] Renamed =
    [
        ("ApiKeys:CacheDuration", (options, value) => options.ApiKeys = value),
        ("OAuth:EntityCacheDuration", (options, value) => options.Clients = value),
        ("OAuth:TokenStatusCacheDuration", (options, value) => options.TokenStatus = value),
        ("OAuth:IntrospectionCacheDuration", (options, value) => options.Introspection = value),
        ("RateLimits:PayerCacheDuration", (options, value) => options.Payers = value),
    ];

    public static IHostApplicationBuilder AddCaching(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<CacheInvalidations>();
        builder.Services.AddOptions<CachingOptions>()
            .Configure<IConfiguration>((options, configuration) =>
            {
                foreach (var (oldKey, set) in Renamed)
                {
                    if (configuration.GetValue<TimeSpan?>(oldKey) is { } value)
                    {
                        set(options, value);
                    }
                }
            })
            .BindConfiguration(CachingOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        return builder;
    }
}
