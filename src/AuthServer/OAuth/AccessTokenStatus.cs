using AuthServer.Core;
using AuthServer.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenIddict.EntityFrameworkCore.Models;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.OAuth;

/// <summary>
/// Whether an access token this server issued is still in force: its entry is valid (not revoked, not deleted with
/// its client) and so is the authorization it was issued under. The server's own APIs ask this before they trust a
/// token whose signature and lifetime check out; resource servers elsewhere ask through introspection.
/// </summary>
/// <remarks>
/// Callers remember an answer for <see cref="CachingOptions.TokenStatus"/> and only while
/// <see cref="Generation"/> is the one they read before asking: every revocation or deletion made on this node
/// (<see cref="InvalidateAll"/>) moves it, so such a change is seen by the next call here, even one whose database read
/// was already under way. A change made on another node moves it too when the nodes share a channel
/// (<see cref="CacheInvalidations"/>); otherwise it is seen within the cache duration.
/// </remarks>
internal sealed class AccessTokenStatus
{
    private const string CacheName = "token_status";

    private readonly IServiceScopeFactory _scopes;
    private readonly IOptions<CachingOptions> _caching;
    private readonly CacheInvalidations _invalidations;
    private long _generation;

    public AccessTokenStatus(IServiceScopeFactory scopes, IOptions<CachingOptions> caching, CacheInvalidations invalidations)
    {
        _scopes = scopes;
        _caching = caching;
        _invalidations = invalidations;
        invalidations.Register(CacheName, _ => Interlocked.Increment(ref _generation));
    }

    /// <summary>Moves with every change on this node that can end a token.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    public TimeSpan CacheDuration => _caching.Value.TokenStatus;

    /// <summary>A token or authorization was revoked or deleted here: answers given before are no longer trusted.</summary>
    public void InvalidateAll() => _invalidations.Invalidate(CacheName, null);

    public async ValueTask<bool> IsActiveAsync(string tokenId, CancellationToken cancellationToken)
    {
        await using var scope = _scopes.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
        var entry = await context.Set<OpenIddictEntityFrameworkCoreToken>()
            .AsNoTracking()
            .Where(token => token.Id == tokenId)
            .Select(token => new
            {
                token.Status,
                AuthorizationStatus = token.Authorization == null ? Statuses.Valid : token.Authorization.Status,
            })
            .SingleOrDefaultAsync(cancellationToken);
        return entry is { Status: Statuses.Valid, AuthorizationStatus: Statuses.Valid };
    }
}
