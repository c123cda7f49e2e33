namespace AuthServer.OAuth.Keys;

/// <summary>
/// The <c>OAuth:Keys</c> section: the life of the signing and encryption keys kept in the database. A new key is
/// announced (published, not used) <see cref="AnnounceBefore"/> ahead, becomes current every
/// <see cref="RotationInterval"/>, and its predecessor stays published for <see cref="RetainAfter"/>.
/// </summary>
public sealed class ServerKeyOptions
{
    public const string SectionName = "OAuth:Keys";

    /// <summary>How long a key signs (or encrypts) before the next one takes over.</summary>
    public TimeSpan RotationInterval { get; set; } = TimeSpan.FromDays(90);

    /// <summary>How long a new key is published before it is used: long enough for resource servers to refresh their JWKS.</summary>
    public TimeSpan AnnounceBefore { get; set; } = TimeSpan.FromDays(14);

    /// <summary>How long a retired key stays published so that what it signed still validates; at least the access-token
    /// lifetime. An encryption key is kept at least as long as a refresh token it protects can live.</summary>
    public TimeSpan RetainAfter { get; set; } = TimeSpan.FromDays(14);

    /// <summary>How often each node reads the keys table: the most a node lags behind an emergency rotation made elsewhere.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMinutes(1);

    internal static string? Validate(ServerKeyOptions keys, OAuthOptions oauth) =>
        keys.RotationInterval < TimeSpan.FromHours(1)
            ? $"{SectionName}:RotationInterval must be at least an hour (01:00:00)."
            : keys.AnnounceBefore < TimeSpan.Zero || keys.AnnounceBefore >= keys.RotationInterval
                ? $"{SectionName}:AnnounceBefore must not be negative and must be shorter than {SectionName}:RotationInterval."
                : keys.RetainAfter < oauth.AccessTokenLifetime || keys.RetainAfter < oauth.IdentityTokenLifetime
                    ? $"{SectionName}:RetainAfter must be at least {OAuthOptions.SectionName}:AccessTokenLifetime ({oauth.AccessTokenLifetime}), "
                        + "or tokens signed just before a rotation would stop validating before they expire."
                    : keys.RefreshInterval < TimeSpan.FromSeconds(1) || keys.RefreshInterval > TimeSpan.FromHours(1)
                        ? $"{SectionName}:RefreshInterval must be between 00:00:01 and 01:00:00."
                        : null;
}
