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

    /// <summary>How long a refresh token family may live: rotation renews a refresh token, but never past this time
    /// from the sign-in that started the family (OWASP ASVS 5 §10.4.8); then the person signs in again.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan RefreshTokenAbsoluteLifetime { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Whether the acceleration layer (<c>OAuth/Acceleration</c>) runs: the same protocol through faster
    /// stores and paths. Off runs OpenIddict's own stores and pipeline, with the same behaviour.</summary>
    public bool Acceleration { get; set; } = true;

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
