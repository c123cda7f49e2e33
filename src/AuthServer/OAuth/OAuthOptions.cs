using System.ComponentModel.DataAnnotations;

namespace AuthServer.OAuth;

/// <summary>The authorization server: issuer, token lifetimes and keys.</summary>
public sealed class OAuthOptions : IValidatableObject
{
    public const string SectionName = "OAuth";

    /// <summary>The issuer URL (<c>iss</c>). When empty it is taken from the request; set it in production so that
    /// every node and every proxy path announces the same issuer.</summary>
    public Uri? Issuer { get; set; }

    /// <summary>The audience (<c>aud</c>) of access tokens: the platform API that validates them.</summary>
    [Required]
    public string Audience { get; set; } = "platform-api";

    /// <summary>RFC 6749 recommends at most 10 minutes; we allow at most 5.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan AuthorizationCodeLifetime { get; set; } = TimeSpan.FromMinutes(5);

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan IdentityTokenLifetime { get; set; } = TimeSpan.FromMinutes(20);

    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(14);

    /// <summary>How long a confidential client may present a rotated refresh token again (a retry after a lost
    /// response) before the use counts as a replay and the whole grant is revoked. A public client gets no leeway:
    /// its second use of a refresh token is always a replay (RFC 9700 §4.14.2).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan RefreshTokenReuseLeeway { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a node trusts its last look at whether an access token was revoked, on its own APIs
    /// (<c>/v1</c>, <c>/admin</c>). A revocation made on the node itself applies at once; one made on another node
    /// within this time. Zero asks the database on every call.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan TokenStatusCacheDuration { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a node trusts a client or scope it read from the database. A change made on the node itself
    /// applies at once; one made on another node (a deleted client, a rotated secret, an edited scope) within this
    /// time. Zero turns the cache off.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan EntityCacheDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a node may repeat an introspection answer (<c>"active": true</c>, access tokens only) to the
    /// same client for the same token. Any change to a token, authorization or client made through this node's
    /// database connection (a redemption excepted) drops every remembered answer at once, so a revocation is seen by
    /// the next call on that node; one made on another node is seen within this time. Never longer than the token
    /// lives. Zero turns it off.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan IntrospectionCacheDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether well-formed <c>client_credentials</c> requests are answered before OpenIddict's token pipeline
    /// (<see cref="ClientCredentialsFastPath"/>): the same checks, token and response, at about 40% of the CPU.
    /// Off sends every request through the pipeline.</summary>
    public bool ClientCredentialsFastPath { get; set; } = true;

    /// <summary><c>ES256</c> (default: fast to sign) or <c>RS256</c> for the generated signing key.</summary>
    public string SigningAlgorithm { get; set; } = "ES256";

    /// <summary>A PKCS#12 file with the signing certificate. When set, it replaces the generated signing key.</summary>
    public string? SigningCertificatePath { get; set; }

    public string? SigningCertificatePassword { get; set; }

    /// <summary>A PKCS#12 file with the encryption certificate (for codes and refresh tokens). When set, it replaces
    /// the generated encryption key.</summary>
    public string? EncryptionCertificatePath { get; set; }

    public string? EncryptionCertificatePassword { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (SigningAlgorithm is not ("ES256" or "RS256"))
        {
            yield return new ValidationResult(
                $"{SectionName}:SigningAlgorithm must be 'ES256' or 'RS256'.", [nameof(SigningAlgorithm)]);
        }

        if (Issuer is { IsAbsoluteUri: false })
        {
            yield return new ValidationResult($"{SectionName}:Issuer must be an absolute URL.", [nameof(Issuer)]);
        }

        foreach (var (key, path) in new[]
        {
            (nameof(SigningCertificatePath), SigningCertificatePath),
            (nameof(EncryptionCertificatePath), EncryptionCertificatePath),
        })
        {
            if (!string.IsNullOrEmpty(path) && !File.Exists(path))
            {
                yield return new ValidationResult($"{SectionName}:{key} names a file that does not exist: {path}", [key]);
            }
        }
    }
}
