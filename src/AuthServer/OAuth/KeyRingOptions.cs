namespace AuthServer.OAuth;

/// <summary>
/// Protection of the Data Protection key ring, which is stored in the database and in turn protects the generated
/// signing and encryption keys (and the session and antiforgery cookies). Without a certificate the key ring is
/// stored in the clear, so anyone who can read the database (a backup, a replica) can read the keys and sign tokens:
/// outside Development the server refuses to start that way unless signing and encryption certificates are set
/// directly (<see cref="OAuthOptions.SigningCertificatePath"/>, <see cref="OAuthOptions.EncryptionCertificatePath"/>).
/// </summary>
public sealed class KeyRingOptions
{
    public const string SectionName = "DataProtection";

    /// <summary>A PKCS#12 file whose certificate encrypts the key ring at rest.</summary>
    public string? CertificatePath { get; set; }

    public string? CertificatePassword { get; set; }

    /// <summary>Instead of a file: the thumbprint of a certificate with its private key in the current user's or the
    /// machine's personal store (<c>My</c>).</summary>
    public string? CertificateThumbprint { get; set; }

    public bool IsProtected => !string.IsNullOrEmpty(CertificatePath) || !string.IsNullOrEmpty(CertificateThumbprint);
}
