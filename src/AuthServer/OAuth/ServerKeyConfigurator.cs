using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AuthServer.Data;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;

namespace AuthServer.OAuth;

/// <summary>
/// Gives the OpenIddict server its signing and encryption keys: certificates from configuration when they are set
/// (production), otherwise keys generated once and kept in the database, protected with Data Protection whose key
/// ring is in the same database. So a restart, and every node sharing the database, signs with the same key and a
/// token issued before a restart still validates after it. Never an ephemeral or development key.
/// </summary>
internal sealed class ServerKeyConfigurator(
    IServiceScopeFactory scopes,
    IDataProtectionProvider dataProtection,
    IOptions<OAuthOptions> oauth,
    TimeProvider clock,
    ILogger<ServerKeyConfigurator> logger) : IConfigureOptions<OpenIddictServerOptions>
{
    private const string ProtectorPurpose = "AuthServer.ServerKeys.v1";
    private const string EncryptionAlgorithm = SecurityAlgorithms.Aes256KW;

    public void Configure(OpenIddictServerOptions options)
    {
        var settings = oauth.Value;
        options.SigningCredentials.Add(string.IsNullOrEmpty(settings.SigningCertificatePath)
            ? LoadSigningKey(settings.SigningAlgorithm)
            : LoadSigningCertificate(settings.SigningCertificatePath, settings.SigningCertificatePassword));

        options.EncryptionCredentials.Add(string.IsNullOrEmpty(settings.EncryptionCertificatePath)
            ? LoadEncryptionKey()
            : new EncryptingCredentials(
                new X509SecurityKey(LoadCertificate(settings.EncryptionCertificatePath, settings.EncryptionCertificatePassword)),
                SecurityAlgorithms.RsaOAEP,
                SecurityAlgorithms.Aes256CbcHmacSha512));
    }

    private SigningCredentials LoadSigningKey(string algorithm)
    {
        var row = LoadOrCreate(ServerKeyPurposes.Signing, algorithm, () => algorithm == SecurityAlgorithms.EcdsaSha256
            ? ExportAndDispose(ECDsa.Create(ECCurve.NamedCurves.nistP256), static ec => ec.ExportECPrivateKey())
            : ExportAndDispose(RSA.Create(2048), static rsa => rsa.ExportRSAPrivateKey()));

        var material = Unprotect(row);
        SecurityKey key;
        if (algorithm == SecurityAlgorithms.EcdsaSha256)
        {
            // The key object must outlive this method: it signs every token.
            var ec = ECDsa.Create();
            ec.ImportECPrivateKey(material, out _);
            key = new ECDsaSecurityKey(ec) { KeyId = row.KeyId };
        }
        else
        {
            var rsa = RSA.Create();
            rsa.ImportRSAPrivateKey(material, out _);
            key = new RsaSecurityKey(rsa) { KeyId = row.KeyId };
        }

        CryptographicOperations.ZeroMemory(material);
        return new SigningCredentials(key, algorithm);
    }

    private EncryptingCredentials LoadEncryptionKey()
    {
        // A symmetric key wraps the content keys of authorization codes and refresh tokens (which only this server
        // reads): AES key wrap costs microseconds where RSA-OAEP costs a third of a millisecond per token.
        var row = LoadOrCreate(ServerKeyPurposes.Encryption, EncryptionAlgorithm, () => RandomNumberGenerator.GetBytes(32));
        var key = new SymmetricSecurityKey(Unprotect(row)) { KeyId = row.KeyId };
        return new EncryptingCredentials(key, EncryptionAlgorithm, SecurityAlgorithms.Aes256CbcHmacSha512);
    }

    private SigningCredentials LoadSigningCertificate(string path, string? password)
    {
        var certificate = LoadCertificate(path, password);
        var algorithm = certificate.GetECDsaPublicKey() is null ? SecurityAlgorithms.RsaSha256 : SecurityAlgorithms.EcdsaSha256;
        logger.LogInformation("Signing tokens with the certificate {Thumbprint} ({Algorithm}).", certificate.Thumbprint, algorithm);
        return new SigningCredentials(new X509SecurityKey(certificate), algorithm);
    }

    internal static X509Certificate2 LoadCertificate(string path, string? password)
    {
        var certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password, X509KeyStorageFlags.EphemeralKeySet);
        if (!certificate.HasPrivateKey)
        {
            throw new InvalidOperationException($"The certificate '{path}' has no private key.");
        }

        return certificate;
    }

    /// <summary>
    /// Returns the oldest key of this purpose and algorithm, creating one if there is none. Two nodes starting on an
    /// empty database may both insert one; both then read back the oldest, so they agree on the same key.
    /// </summary>
    private ServerKey LoadOrCreate(string purpose, string algorithm, Func<byte[]> generate)
    {
        using var scope = scopes.CreateScope();
        var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();

        var existing = FindOldest(context, purpose, algorithm);
        if (existing is not null)
        {
            return existing;
        }

        var material = generate();
        context.ServerKeys.Add(new ServerKey
        {
            Purpose = purpose,
            Algorithm = algorithm,
            KeyId = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)),
            ProtectedMaterial = Convert.ToBase64String(dataProtection.CreateProtector(ProtectorPurpose).Protect(material)),
            CreatedAt = clock.GetUtcNow(),
        });
        CryptographicOperations.ZeroMemory(material);
        context.SaveChanges();
        logger.LogInformation("Generated a new {Purpose} key ({Algorithm}) and stored it in the database.", purpose, algorithm);

        return FindOldest(context, purpose, algorithm)!;
    }

    private static ServerKey? FindOldest(AuthDbContext context, string purpose, string algorithm) =>
        context.ServerKeys
            .Where(key => key.Purpose == purpose && key.Algorithm == algorithm)
            .OrderBy(key => key.Id)
            .FirstOrDefault();

    private byte[] Unprotect(ServerKey row) =>
        dataProtection.CreateProtector(ProtectorPurpose).Unprotect(Convert.FromBase64String(row.ProtectedMaterial));

    private static byte[] ExportAndDispose<T>(T algorithm, Func<T, byte[]> export)
        where T : IDisposable
    {
        using (algorithm)
        {
            return export(algorithm);
        }
    }
}
