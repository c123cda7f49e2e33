using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using AuthServer.ApiKeys;
using AuthServer.Core;
using AuthServer.RateLimiting;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.PlatformApi;

/// <summary>
/// Who made a <c>/v1</c> call: built once per credential (per cached API key record, per validated access token) and
/// shared by every call made with that credential, so the hot path allocates no claims. Treat it, and its
/// <see cref="Principal"/>, as read-only.
/// </summary>
internal sealed class PlatformCaller
{
    private PlatformCaller(ClaimsPrincipal principal, string? subject, string? keyId, string? clientId, IEnumerable<string> scopes)
    {
        Principal = principal;
        Subject = subject;
        KeyId = keyId;
        ClientId = clientId;
        Scopes = scopes.ToFrozenSet(StringComparer.Ordinal);
        Credential = keyId is not null ? "key:" + keyId : "client:" + clientId;
    }

    public ClaimsPrincipal Principal { get; }

    /// <summary>The account the credential acts for (an API key's owner, an access token's <c>sub</c>).</summary>
    public string? Subject { get; }

    /// <summary>The API key the call was made with, if any.</summary>
    public string? KeyId { get; }

    /// <summary>The client an access token was issued to, if any.</summary>
    public string? ClientId { get; }

    public FrozenSet<string> Scopes { get; }

    /// <summary>What the rate limiter needs to find who pays for this caller's calls.</summary>
    public PayerLookup Lookup => _lookup ??= new PayerLookup(KeyId, Subject, ClientId, Credential);

    /// <summary>Who pays for this caller's calls, as last resolved (see <see cref="PlatformGate"/>).</summary>
    internal PayerSeen? Payer { get; set; }

    private PayerLookup? _lookup;

    /// <summary>What the call used, for usage: <c>key:&lt;id&gt;</c> or <c>client:&lt;client_id&gt;</c>.</summary>
    public string Credential { get; }

    public bool HasAnyScope(IReadOnlyList<string> anyOf)
    {
        foreach (var scope in anyOf)
        {
            if (Scopes.Contains(scope))
            {
                return true;
            }
        }

        return false;
    }

    public static PlatformCaller FromApiKey(ApiKeyRecord key)
    {
        var identity = new ClaimsIdentity(PlatformBearerHandler.SchemeName, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, key.OwnerId)
            .SetClaim(PlatformBearerHandler.ApiKeyIdClaim, key.Id)
            .SetClaim(PlatformBearerHandler.CredentialTypeClaim, PlatformBearerHandler.ApiKeyCredential)
            .SetScopes(key.Scopes);
        return new PlatformCaller(new ClaimsPrincipal(identity), key.OwnerId, key.Id, clientId: null, key.Scopes);
    }

    /// <summary>From the claims of a validated access token; its one space-separated <c>scope</c> claim (RFC 9068) is split.</summary>
    public static PlatformCaller FromAccessToken(IEnumerable<Claim> claims)
    {
        var identity = new ClaimsIdentity(PlatformBearerHandler.SchemeName, Claims.Name, Claims.Role);
        var scopes = new List<string>();
        foreach (var claim in claims)
        {
            if (claim.Type == Claims.Scope)
            {
                scopes.AddRange(claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            }
            else
            {
                identity.AddClaim(new Claim(claim.Type, claim.Value, claim.ValueType));
            }
        }

        identity.SetScopes(scopes).SetClaim(PlatformBearerHandler.CredentialTypeClaim, PlatformBearerHandler.AccessTokenCredential);
        var principal = new ClaimsPrincipal(identity);
        return new PlatformCaller(
            principal, principal.GetClaim(Claims.Subject), keyId: null,
            principal.GetClaim(Claims.ClientId) ?? principal.GetPresenters().FirstOrDefault(), scopes);
    }
}

/// <summary>A caller's payer, valid until <paramref name="ExpiresAt"/> unless the resolver's generation moved past <paramref name="Generation"/>.</summary>
internal sealed record PayerSeen(Payer Payer, long Generation, long ExpiresAt);

internal enum PlatformAuthFailure
{
    None,
    Missing,
    Invalid,
    Unavailable,
}

/// <summary>The outcome of reading a <c>/v1</c> credential.</summary>
/// <param name="Caller">Who called, when the credential is valid.</param>
/// <param name="Failure">Why not, otherwise.</param>
/// <param name="Message">What to tell the caller about the failure.</param>
/// <param name="RefusedKey">A key refused as expired or revoked, for the activity monitor.</param>
internal readonly record struct PlatformAuthResult(
    PlatformCaller? Caller, PlatformAuthFailure Failure, string? Message, ApiKeyRecord? RefusedKey)
{
    public static PlatformAuthResult Fail(PlatformAuthFailure failure, string message, ApiKeyRecord? refused = null) =>
        new(null, failure, message, refused);
}

/// <summary>
/// Reads <c>Authorization: Bearer</c> with either an API key (told apart by its <c>aip_</c> prefix) or an access
/// token issued by this server (validated in-process against the signing keys, without a database round trip).
/// The one place both the <c>/v1</c> gate and the admin API's bearer scheme authenticate a platform credential.
/// </summary>
internal sealed class PlatformCredentials(ApiKeyAuthenticator apiKeys, AccessTokenValidator accessTokens, ILogger<PlatformCredentials> logger)
{
    private const string BearerPrefix = "Bearer ";

    // One caller per cached key record: the record is replaced when the key cache reloads, and its caller goes with it.
    private readonly ConditionalWeakTable<ApiKeyRecord, PlatformCaller> _keyCallers = new();

    public async ValueTask<PlatformAuthResult> AuthenticateAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var header = request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header))
        {
            return PlatformAuthResult.Fail(
                PlatformAuthFailure.Missing, "The request has no credentials: send 'Authorization: Bearer <API key or access token>'.");
        }

        if (!header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase) || header.Length <= BearerPrefix.Length)
        {
            return PlatformAuthResult.Fail(PlatformAuthFailure.Invalid, "The Authorization header must use the Bearer scheme.");
        }

        var credential = header.AsSpan(BearerPrefix.Length).Trim().ToString();
        if (!ApiKeyFormat.LooksLikeKey(credential))
        {
            try
            {
                return await accessTokens.ValidateAsync(credential, request) is { } caller
                    ? new PlatformAuthResult(caller, PlatformAuthFailure.None, null, null)
                    : PlatformAuthResult.Fail(PlatformAuthFailure.Invalid, "The access token is invalid, expired or revoked.");
            }
            catch (Exception exception) when (DatabaseFailures.IsDatabaseFailure(exception))
            {
                logger.LogError(exception, "The database could not be reached to check an access token.");
                return PlatformAuthResult.Fail(PlatformAuthFailure.Unavailable, "The credential store is unavailable.");
            }
        }

        var (result, key) = await apiKeys.CheckAsync(credential, cancellationToken);
        return result switch
        {
            ApiKeyCheck.Valid => new PlatformAuthResult(
                _keyCallers.GetValue(key!, static record => PlatformCaller.FromApiKey(record)), PlatformAuthFailure.None, null, null),

            // Unknown and malformed keys get the same answer: the response must not tell whether a key exists.
            ApiKeyCheck.Malformed => PlatformAuthResult.Fail(
                PlatformAuthFailure.Invalid, "The API key is malformed (check for a typo or a truncated copy)."),
            ApiKeyCheck.Unknown => PlatformAuthResult.Fail(PlatformAuthFailure.Invalid, "The API key is not valid."),
            ApiKeyCheck.Expired => PlatformAuthResult.Fail(PlatformAuthFailure.Invalid, "The API key has expired; create a new one.", key),
            ApiKeyCheck.Revoked => PlatformAuthResult.Fail(PlatformAuthFailure.Invalid, "The API key has been revoked.", key),
            _ => PlatformAuthResult.Fail(PlatformAuthFailure.Unavailable, "The credential store is unavailable."),
        };
    }
}
