using AuthServer.OAuth;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.PlatformApi;

/// <summary>
/// Validates the access tokens this server issues, for <c>/v1</c>: an RFC 9068 JWT (<c>typ: at+jwt</c>) signed with
/// one of the server's signing keys, from this issuer, for the platform audience, within its lifetime. Identity
/// tokens, unsigned or tampered tokens and tokens for other audiences are refused.
/// A token that validated is remembered (by its SHA-256, until it expires and at most five minutes), so a client
/// calling with the same token does not pay for the signature check again. As before, a revoked access token is
/// refused by introspection at once and here when it expires.
/// </summary>
internal sealed class AccessTokenValidator(
    IOptionsMonitor<OpenIddictServerOptions> server, IOptions<OAuthOptions> oauth, TimeProvider clock) : IDisposable
{
    private static readonly TimeSpan MaxCacheTime = TimeSpan.FromMinutes(5);

    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    // Keyed by the token itself: an exact match, and cheaper than a cryptographic hash of a kilobyte-long token on
    // every call (SHA-256 there cost more than the rest of the call). Bounded: at most about 20 MB of tokens.
    private readonly MemoryCache _validated = new(new MemoryCacheOptions { SizeLimit = 10_000 });

    private sealed record Validated(PlatformCaller Caller, DateTimeOffset ExpiresAt);

    /// <summary>The caller, or <see langword="null"/> when the token is not a valid access token of ours.</summary>
    /// <param name="token">The access token as the caller sent it.</param>
    /// <param name="request">The request, for its issuer when none is configured (only read when the token is new).</param>
    public async ValueTask<PlatformCaller?> ValidateAsync(string token, HttpRequest request)
    {
        var now = clock.GetUtcNow();
        if (!_validated.TryGetValue(token, out Validated? validated) || validated!.ExpiresAt <= now)
        {
            var result = await _handler.ValidateTokenAsync(token, Parameters(request));
            if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
            {
                return null;
            }

            validated = new Validated(PlatformCaller.FromAccessToken(result.ClaimsIdentity.Claims), new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero));
            var until = validated.ExpiresAt < now + MaxCacheTime ? validated.ExpiresAt : now + MaxCacheTime;
            _validated.Set(token, validated, new MemoryCacheEntryOptions { AbsoluteExpiration = until, Size = 1 });
        }

        return validated.Caller;
    }

    private TokenValidationParameters Parameters(HttpRequest request) => new()
    {
        ValidIssuer = oauth.Value.Issuer?.AbsoluteUri ?? $"{request.Scheme}://{request.Host}{request.PathBase}/",
        ValidAudience = oauth.Value.Audience,
        IssuerSigningKeys = server.CurrentValue.SigningCredentials.Select(credentials => credentials.Key),
        ValidTypes = [JsonWebTokenTypes.AccessToken],
        ValidateLifetime = true,
        RequireExpirationTime = true,
        RequireSignedTokens = true,
        ClockSkew = TimeSpan.Zero,
        LifetimeValidator = (notBefore, expires, _, _) =>
            expires is { } end && clock.GetUtcNow().UtcDateTime < end && (notBefore is not { } start || start <= clock.GetUtcNow().UtcDateTime),
    };

    public void Dispose() => _validated.Dispose();
}
