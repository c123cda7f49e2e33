using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;

namespace AuthServer.OAuth.Keys;

/// <summary>
/// Gives the OpenIddict server its signing and encryption keys: certificates from configuration when they are set,
/// otherwise the keys in the database as <see cref="ServerKeySet"/> holds them (current first), which rotate. Never an
/// ephemeral or development key. Runs again whenever the key set changes.
/// </summary>
internal sealed class ServerKeyConfigurator(
    ServerKeySet keys, ServerKeyStore store, IOptions<OAuthOptions> oauth, ILogger<ServerKeyConfigurator> logger)
    : IConfigureOptions<OpenIddictServerOptions>
{
    public void Configure(OpenIddictServerOptions options)
    {
        var settings = oauth.Value;
        if (store.ManagedPurposes.Count > 0 && keys.Fingerprint.Length == 0)
        {
            // Only when something reads the server options before the host started (a command-line verb): the
            // rotation service loads the keys at start-up otherwise.
            keys.Apply(store.EnsureAsync(CancellationToken.None).GetAwaiter().GetResult(), store.Unprotect, notify: false);
        }

        if (string.IsNullOrEmpty(settings.SigningCertificatePath))
        {
            options.SigningCredentials.AddRange(keys.Signing);
        }
        else
        {
            options.SigningCredentials.Add(LoadSigningCertificate(settings.SigningCertificatePath, settings.SigningCertificatePassword));
        }

        if (string.IsNullOrEmpty(settings.EncryptionCertificatePath))
        {
            options.EncryptionCredentials.AddRange(keys.Encryption);
        }
        else
        {
            options.EncryptionCredentials.Add(new EncryptingCredentials(
                new X509SecurityKey(LoadCertificate(settings.EncryptionCertificatePath, settings.EncryptionCertificatePassword)),
                SecurityAlgorithms.RsaOAEP,
                SecurityAlgorithms.Aes256CbcHmacSha512));
        }
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
}
