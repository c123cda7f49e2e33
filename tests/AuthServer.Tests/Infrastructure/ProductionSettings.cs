using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace AuthServer.Tests.Infrastructure;

/// <summary>What an operator must set to start the server outside Development: the issuer and the key ring's certificate.</summary>
public static class ProductionSettings
{
    private static readonly Lazy<string> KeyRingCertificate = new(() => NewCertificateFile("authserver-keyring"));

    /// <summary>A PKCS#12 file (no password) with a new self-signed RSA certificate and its private key.</summary>
    public static string KeyRingCertificatePath => KeyRingCertificate.Value;

    public static Dictionary<string, string?> For(string issuer, IReadOnlyDictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["OAuth:Issuer"] = issuer,
            ["DataProtection:CertificatePath"] = KeyRingCertificatePath,
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }

    public static string NewCertificateFile(string name)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        var path = Path.Combine(Path.GetTempPath(), "authserver-tests", $"{name}-{Guid.NewGuid():N}.pfx");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx));
        return path;
    }
}
