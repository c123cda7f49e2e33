using AuthServer.OAuth;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.PlatformApi;

/// <summary>
/// Validates the access tokens this server issues, for <c>/v1</c> and the admin API: an RFC 9068 JWT
/// (<c>typ: at+jwt</c>) signed with one of the server's signing keys, from this issuer, for the platform audience,
/// within its lifetime, and still in force (<see cref="AccessTokenStatus"/>: not revoked, nor its grant). Identity
/// tokens, unsigned or tampered tokens and tokens for other audiences are refused.
/// A token whose signature checked out is remembered (keyed by the token itself, until it expires and at most five
/// minutes), so a client calling with the same token does not pay for the signature again; whether it is still in
/// force is looked at again after <see cref="Core.CachingOptions.TokenStatus"/>, or at once after a revocation
/// on this node.
/// </summary>
internal sealed class AccessTokenValidator : IDisposable
{
    private static readonly TimeSpan MaxCacheTime = TimeSpan.FromMinutes(5);

    private readonly IOptionsMonitor<OpenIddictServerOptions> _server;
    private readonly IOptions<OAuthOptions> _oauth;
    private readonly AccessTokenStatus _status;
    private readonly TimeProvider _clock;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    // Keyed by the token itself: an exact match, and cheaper than a cryptographic hash of a kilobyte-long token on
    // every call. Bounded: at most about 20 MB of tokens.
    private readonly MemoryCache _validated = new(new MemoryCacheOptions { SizeLimit = 10_000 });
    private readonly IDisposable? _keysChanged;

    public AccessTokenValidator(
        IOptionsMonitor<OpenIddictServerOptions> server, IOptions<OAuthOptions> oauth, AccessTokenStatus status, TimeProvider clock)
    {
        (_server, _oauth, _status, _clock) = (server, oauth, status, clock);

        // The signing keys changed (a rotation, or a key withdrawn in an emergency): every signature is checked again.
        _keysChanged = server.OnChange(_ => _validated.Clear());
    }

    /// <summary>A token whose signature and claims checked out, and when its status was last seen valid.</summary>
    private sealed class Validated(PlatformCaller caller, DateTimeOffset expiresAt, string tokenId)
    {
        public PlatformCaller Caller { get; } = caller;

        public DateTimeOffset ExpiresAt { get; } = expiresAt;

        public string TokenId { get; } = tokenId;

        /// <summary>The last look at the token's status: valid until then, unless the generation moved.</summary>
        public volatile StatusSeen? Seen;
    }

    private sealed record StatusSeen(long Generation, DateTimeOffset Until);

    /// <summary>The caller; <see langword="null"/> when the token is not a valid access token of ours, or no longer in force.</summary>
    /// <param name="token">The access token as the caller sent it.</param>
    /// <param name="request">The request, for its issuer when none is configured (only read when the token is new).</param>
    /// <exception cref="Exception">The database could not be asked about the token's status (see <see cref="Core.DatabaseFailures"/>).</exception>
    public async ValueTask<PlatformCaller?> ValidateAsync(string token, HttpRequest request)
    {
        var now = _clock.GetUtcNow();
        if (!_validated.TryGetValue(token, out Validated? validated) || validated!.ExpiresAt <= now)
        {
            var result = await _handler.ValidateTokenAsync(token, Parameters(request));
            if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt
                || !jwt.TryGetPayloadValue<string>(Claims.Private.TokenId, out var tokenId) || string.IsNullOrEmpty(tokenId))
            {
                return null;
            }

            validated = new Validated(
                PlatformCaller.FromAccessToken(result.ClaimsIdentity.Claims), new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero), tokenId);
            var until = validated.ExpiresAt < now + MaxCacheTime ? validated.ExpiresAt : now + MaxCacheTime;
            _validated.Set(token, validated, new MemoryCacheEntryOptions { AbsoluteExpiration = until, Size = 1 });
        }

        if (validated.Seen is not { } seen || seen.Generation != _status.Generation || now >= seen.Until)
        {
            // Read before asking: a revocation on this node while the database answers leaves this answer stale.
            var generation = _status.Generation;
            if (!await _status.IsActiveAsync(validated.TokenId, request.HttpContext.RequestAborted))
            {
                _validated.Remove(token);
                return null;
            }

            validated.Seen = new StatusSeen(generation, now + _status.CacheDuration);
        }

        return validated.Caller;
    }
    private TokenValidationParameters Parameters(HttpRequest request) => new()
    {
        ValidIssuer = _oauth.Value.Issuer?.AbsoluteUri ?? $"{request.Scheme}://{request.Host}{request.PathBase}/",
        ValidAudience = _oauth.Value.Audience,
        IssuerSigningKeys = _server.CurrentValue.SigningCredentials.Select(credentials => credentials.Key),
        ValidTypes = [JsonWebTokenTypes.AccessToken],
        ValidateLifetime = true,
        RequireExpirationTime = true,
        RequireSignedTokens = true,
        ClockSkew = TimeSpan.Zero,
        LifetimeValidator = (notBefore, expires, _, _) =>
            expires is { } end && _clock.GetUtcNow().UtcDateTime < end && (notBefore is not { } start || start <= _clock.GetUtcNow().UtcDateTime),
    };

    public void Dispose()
    {
        _keysChanged?.Dispose();
        _validated.Dispose();
    }
}
