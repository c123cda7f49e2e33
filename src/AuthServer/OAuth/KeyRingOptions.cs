namespace AuthServer.OAuth;

/// <summary>
/// Protection of the Data Protection key ring, which is stored in the database and in turn protects the generated
/// signing and encryption keys. Without a certificate the key ring is stored in the clear, so anyone who can read
/// the database can read the keys: set one in production (or use signing and encryption certificates directly).
/// </summary>
public sealed class KeyRingOptions
{
    public const string SectionName = "DataProtection";

    /// <summary>A PKCS#12 file whose certificate encrypts the key ring at rest.</summary>
    public string? CertificatePath { get; set; }

    public string? CertificatePassword { get; set; }
}
