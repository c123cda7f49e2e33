using System.Collections.Concurrent;
using AuthServer.Audit;
using AuthServer.Core;
using AuthServer.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AuthServer.ApiKeys;

/// <summary>What a node knows of a key: enough to authorize a call, nothing secret.</summary>
internal sealed record ApiKeyRecord(
    string Id, string OwnerId, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt);

internal enum ApiKeyCheck
{
    Valid,
    Malformed,
    Unknown,
    Expired,
    Revoked,
    Unavailable,
}

/// <summary>
/// Checks an API key on the request path: format and checksum first (no I/O), then the hash, from a short-lived
/// in-memory cache or the database. No database write happens here: last-used times go to
/// <see cref="ApiKeyUsageRecorder"/>, which writes them in batches.
/// </summary>
internal sealed class ApiKeyAuthenticator(
    IServiceScopeFactory scopes,
    ApiKeyUsageRecorder usage,
    ServerMetrics metrics,
    IOptions<CachingOptions> caching,
    CacheInvalidations invalidations,
    TimeProvider clock,
    ILogger<ApiKeyAuthenticator> logger) : IDisposable
{
    // Keyed by the key's hash, bounded, so a flood of distinct well-formed keys cannot grow memory without limit.
    private readonly NodeCache<ApiKeyRecord> _cache = new("api_keys", sizeLimit: 100_000, invalidations);

    // Unknown keys are cached too (as this sentinel), so a client hammering with a well-formed but unknown key
    // costs one lookup per cache period, not one per request.
    private static readonly ApiKeyRecord Unknown = new("", "", [], default, null, null);
    private static readonly string[] OutcomeNames = [.. Enum.GetNames<ApiKeyCheck>().Select(name => name.ToLowerInvariant())];

    private readonly ConcurrentDictionary<string, DateTimeOffset> _expiredUseReported = new(StringComparer.Ordinal);

    public async ValueTask<(ApiKeyCheck Result, ApiKeyRecord? Key)> CheckAsync(string candidate, CancellationToken cancellationToken)
    {
        if (!ApiKeyFormat.IsWellFormed(candidate))
        {
            return Counted(ApiKeyCheck.Malformed, null);
        }

        var hash = ApiKeyFormat.Hash(candidate);
        ApiKeyRecord record;
        try
        {
            record = await _cache.GetOrLoadAsync(hash, async () => await LoadAsync(hash, cancellationToken) ?? Unknown, caching.Value.ApiKeys);
        }
        catch (Exception exception) when (DatabaseFailures.IsDatabaseFailure(exception))
        {
            logger.LogError(exception, "The database could not be reached to check an API key.");
            return Counted(ApiKeyCheck.Unavailable, null);
        }

        if (ReferenceEquals(record, Unknown))
        {
            return Counted(ApiKeyCheck.Unknown, null);
        }

        var now = clock.GetUtcNow();
        if (record.RevokedAt is not null)
        {
            return Counted(ApiKeyCheck.Revoked, record);
        }

        if (record.ExpiresAt <= now)
        {
            await ReportExpiredUseAsync(record, now, cancellationToken);
            return Counted(ApiKeyCheck.Expired, record);
        }

        usage.Touch(record.Id, now);
        return Counted(ApiKeyCheck.Valid, record);
    }

    /// <summary>Counts the outcome (<c>authserver.api_keys.authentications</c>) on the way out.</summary>
    private (ApiKeyCheck Result, ApiKeyRecord? Key) Counted(ApiKeyCheck result, ApiKeyRecord? key)
    {
        metrics.ApiKeyAuthenticated(OutcomeNames[(int)result]);
        return (result, key);
    }

    /// <summary>Drops a key from this node's cache, so a revocation takes effect on the next request.</summary>
    public void Invalidate(string hash) => _cache.Invalidate(hash);

    private async Task<ApiKeyRecord?> LoadAsync(string hash, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
        var key = await context.ApiKeys.AsNoTracking()
            .Where(key => key.Hash == hash)
            .Select(key => new { key.Id, key.OwnerId, key.Scopes, key.CreatedAt, key.ExpiresAt, key.RevokedAt })
            .SingleOrDefaultAsync(cancellationToken);
        return key is null
            ? null
            : new ApiKeyRecord(key.Id, key.OwnerId, key.Scopes.Split(' '), key.CreatedAt, key.ExpiresAt, key.RevokedAt);
    }

    /// <summary>Someone still uses an expired key: worth telling its owner, once a minute at most per key.</summary>
    private async Task ReportExpiredUseAsync(ApiKeyRecord record, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_expiredUseReported.TryGetValue(record.Id, out var last) && now - last < TimeSpan.FromMinutes(1))
        {
            return;
        }

        _expiredUseReported[record.Id] = now;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<AuditLog>().WriteAsync(
                "system", AuditActions.ApiKeyExpiredUse, record.Id, record.OwnerId, null, cancellationToken);
        }
        catch (Exception exception) when (DatabaseFailures.IsDatabaseFailure(exception))
        {
            logger.LogWarning(exception, "Could not record the use of expired key {KeyId}.", record.Id);
        }
    }

    public void Dispose() => _cache.Dispose();
}
