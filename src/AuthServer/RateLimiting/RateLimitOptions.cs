using AuthServer.Data;

namespace AuthServer.RateLimiting;

/// <summary>The <c>RateLimits</c> section: requests per minute by tier, brute-force limits per client IP, and Redis.</summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimits";

    /// <summary>Requests per minute of each tier (<c>free</c>, <c>pro</c>); an enterprise account carries its own.</summary>
    public Dictionary<string, int> Tiers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// A StackExchange.Redis connection string (<c>host:6379,password=..</c>). Empty: counters live in this process,
    /// which is right for one node; set it when several nodes must enforce one limit together.
    /// </summary>
    public string? Redis { get; set; }

    /// <summary>Prefix of every key the limiter writes in Redis.</summary>
    public string RedisKeyPrefix { get; set; } = "authserver:rl:";

    /// <summary>Failed sign-ins to one account accepted from one client IP per minute.</summary>
    public int SignInFailuresPerMinute { get; set; } = 20;

    /// <summary>Failed client authentications at <c>/oauth/token</c>, <c>/oauth/introspect</c> and <c>/oauth/revoke</c>
    /// accepted from one client IP per minute.</summary>
    public int TokenFailuresPerMinute { get; set; } = 30;

    /// <summary>Failed <c>/v1</c> authentications (401) accepted from one client IP per minute.</summary>
    public int KeyFailuresPerMinute { get; set; } = 30;


    /// <summary>The limit of <paramref name="tier"/>, or of an enterprise account with its own limit.</summary>
    public int LimitOf(string tier, int? requestsPerMinute) =>
        tier == AccountTiers.Enterprise && requestsPerMinute is > 0
            ? requestsPerMinute.Value
            : Tiers.TryGetValue(tier, out var limit) ? limit : Tiers[AccountTiers.Free];

    internal static string? Validate(RateLimitOptions options)
    {
        foreach (var tier in new[] { AccountTiers.Free, AccountTiers.Pro })
        {
            if (!options.Tiers.TryGetValue(tier, out var limit) || limit < 1)
            {
                return $"{SectionName}:Tiers:{tier} must be a number of requests per minute of at least 1.";
            }
        }

        if (options.Tiers.Values.Any(limit => limit < 1))
        {
            return $"{SectionName}:Tiers values must be at least 1.";
        }

        if (options.SignInFailuresPerMinute < 1 || options.TokenFailuresPerMinute < 1 || options.KeyFailuresPerMinute < 1)
        {
            return $"{SectionName}: the per-IP failure limits must be at least 1.";
        }

        return null;
    }
}
