using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;
using AuthServer.OAuth;
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
    private readonly MemoryCache _validated = new(new MemoryCacheOptions { SizeLimit = 50_000 });

    private sealed record Validated(PlatformCaller Caller, DateTimeOffset ExpiresAt);

    /// <summary>The caller, or <see langword="null"/> when the token is not a valid access token of ours.</summary>
    public async ValueTask<PlatformCaller?> ValidateAsync(string token, string requestIssuer)
    {
        var now = clock.GetUtcNow();
        var key = Convert.ToBase64String(SHA256.HashData(MemoryMarshal.AsBytes(token.AsSpan())));
        if (!_validated.TryGetValue(key, out Validated? validated) || validated!.ExpiresAt <= now)
        {
            var result = await _handler.ValidateTokenAsync(token, Parameters(requestIssuer));
            if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
            {
                return null;
            }

            validated = new Validated(PlatformCaller.FromAccessToken(result.ClaimsIdentity.Claims), new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero));
            var until = validated.ExpiresAt < now + MaxCacheTime ? validated.ExpiresAt : now + MaxCacheTime;
            _validated.Set(key, validated, new MemoryCacheEntryOptions { AbsoluteExpiration = until, Size = 1 });
        }

        return validated.Caller;
    }

    private TokenValidationParameters Parameters(string requestIssuer) => new()
    {
        ValidIssuer = oauth.Value.Issuer?.AbsoluteUri ?? requestIssuer,
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
