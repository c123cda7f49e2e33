using System.Diagnostics.Metrics;

namespace AuthServer.Core;

/// <summary>
/// The server's own meter, <c>AuthServer</c>: what an operator watches and alerts on, beside the ASP.NET Core,
/// runtime and database instruments. Names follow the OpenTelemetry conventions (dotted, lower case, unit apart).
/// </summary>
internal sealed class ServerMetrics
{
    public const string MeterName = "AuthServer";

    private readonly Counter<long> _tokensIssued;
    private readonly Counter<long> _tokenRequestsFailed;
    private readonly Counter<long> _apiKeyAuthentications;
    private readonly Counter<long> _rateLimitRejections;
    private readonly Counter<long> _keyRotations;
    private readonly Counter<long> _pruneRemoved;
    private readonly TimeProvider _clock;
    private long _lastUsageFlush;
    private int _redisDegraded;

    public ServerMetrics(IMeterFactory meters, TimeProvider clock)
    {
        _clock = clock;
        _lastUsageFlush = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var meter = meters.Create(MeterName);
        _tokensIssued = meter.CreateCounter<long>("authserver.tokens.issued", "{token}", "Tokens issued by the token endpoint, by grant type.");
        _tokenRequestsFailed = meter.CreateCounter<long>(
            "authserver.token_requests.failed", "{request}", "Token requests answered with an OAuth error, by error code.");
        _apiKeyAuthentications = meter.CreateCounter<long>(
            "authserver.api_keys.authentications", "{authentication}", "API keys presented to the platform API, by outcome.");
        _rateLimitRejections = meter.CreateCounter<long>("authserver.rate_limit.rejections", "{request}", "Requests refused with 429, by tier.");
        _keyRotations = meter.CreateCounter<long>("authserver.keys.rotations", "{key}", "Signing and encryption keys added by this node.");
        _pruneRemoved = meter.CreateCounter<long>("authserver.prune.removed", "{row}", "Rows removed by the pruner, by kind.");
        meter.CreateObservableGauge(
            "authserver.usage.flush.lag",
            () => (_clock.GetUtcNow().ToUnixTimeMilliseconds() - Interlocked.Read(ref _lastUsageFlush)) / 1000.0,
            "s",
            "Time since usage counts were last written to the database.");
        meter.CreateObservableGauge(
            "authserver.redis.degraded", () => Volatile.Read(ref _redisDegraded), "{state}", "1 while Redis cannot be reached and each node counts alone.");
    }

    public void TokenIssued(string grantType) => _tokensIssued.Add(1, new KeyValuePair<string, object?>("grant_type", grantType));

    public void TokenRequestFailed(string error) => _tokenRequestsFailed.Add(1, new KeyValuePair<string, object?>("error", error));

    public void ApiKeyAuthenticated(string outcome) => _apiKeyAuthentications.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void RateLimited(string tier) => _rateLimitRejections.Add(1, new KeyValuePair<string, object?>("tier", tier));

    public void KeyRotated(string purpose, string reason) =>
        _keyRotations.Add(1, new KeyValuePair<string, object?>("purpose", purpose), new KeyValuePair<string, object?>("reason", reason));

    public void Pruned(string kind, long count)
    {
        if (count > 0)
        {
            _pruneRemoved.Add(count, new KeyValuePair<string, object?>("kind", kind));
        }
    }

    public void UsageFlushed() => Interlocked.Exchange(ref _lastUsageFlush, _clock.GetUtcNow().ToUnixTimeMilliseconds());

    public void RedisDegraded(bool degraded) => Volatile.Write(ref _redisDegraded, degraded ? 1 : 0);
}
