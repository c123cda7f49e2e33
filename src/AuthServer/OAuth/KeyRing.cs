using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AuthServer.Data;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace AuthServer.OAuth;

/// <summary>
/// The Data Protection key ring: in the database, so that every node and every restart can read what another
/// protected (the server's own keys, the sign-in and antiforgery cookies), and encrypted at rest with a certificate.
/// </summary>
internal static class KeyRing
{
    private const string XmlKeyManagerCategory = "Microsoft.AspNetCore.DataProtection.KeyManagement.XmlKeyManager";

    public static IServiceCollection AddKeyRing(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        var dataProtection = services.AddDataProtection()
            .SetApplicationName("AuthServer")
            .PersistKeysToDbContext<AuthDbContext>();

        services.AddOptions<KeyRingOptions>()
            .BindConfiguration(KeyRingOptions.SectionName)
            .Validate(
                options => string.IsNullOrEmpty(options.CertificatePath) || File.Exists(options.CertificatePath),
                $"{KeyRingOptions.SectionName}:CertificatePath names a file that does not exist.")
            .Validate(
                options => string.IsNullOrEmpty(options.CertificateThumbprint) || FindInStore(options.CertificateThumbprint) is not null,
                $"{KeyRingOptions.SectionName}:CertificateThumbprint names no certificate with a private key in the CurrentUser or LocalMachine 'My' store.")
            .Validate<IOptions<OAuthOptions>, IHostEnvironment>(
                (ring, oauth, host) => host.IsDevelopment() || ring.IsProtected
                    || (!string.IsNullOrEmpty(oauth.Value.SigningCertificatePath) && !string.IsNullOrEmpty(oauth.Value.EncryptionCertificatePath)),
                $"Outside Development the signing keys must not be stored readable from the database: set {KeyRingOptions.SectionName}:CertificatePath "
                + $"(or {KeyRingOptions.SectionName}:CertificateThumbprint) to a certificate that encrypts the key ring, or set both "
                + $"{OAuthOptions.SectionName}:SigningCertificatePath and {OAuthOptions.SectionName}:EncryptionCertificatePath.")
            .ValidateOnStart();

        // Note: the key ring's encryptor has to be chosen while services are registered, so these settings are read
        // here; a missing file or certificate is reported by the validation above.
        var ring = configuration.GetSection(KeyRingOptions.SectionName).Get<KeyRingOptions>() ?? new KeyRingOptions();
        var certificate = ring switch
        {
            { CertificatePath: { Length: > 0 } path } when File.Exists(path) => Keys.ServerKeyConfigurator.LoadCertificate(path, ring.CertificatePassword),
            { CertificateThumbprint: { Length: > 0 } thumbprint } => FindInStore(thumbprint),
            _ => null,
        };
        if (certificate is not null)
        {
            dataProtection.ProtectKeysWithCertificate(certificate).UnprotectKeysWithAnyCertificate(certificate);
        }
        else if (environment.IsDevelopment())
        {
            // Data Protection warns on every new key; one plain sentence at start-up says it instead.
            services.Configure<LoggerFilterOptions>(filters => filters.AddFilter(XmlKeyManagerCategory, LogLevel.Error));
            services.AddHostedService<UnprotectedKeyRingNotice>();
        }

        return services;
    }

    private static X509Certificate2? FindInStore(string thumbprint)
    {
        foreach (var location in new[] { StoreLocation.CurrentUser, StoreLocation.LocalMachine })
        {
            using var store = new X509Store(StoreName.My, location);
            try
            {
                store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
            }
            catch (CryptographicException)
            {
                // Note: on Linux the machine has no personal store, and a user's exists only once something was added.
                continue;
            }

            var found = store.Certificates.Find(X509FindType.FindByThumbprint, thumbprint, validOnly: false);
            if (found.FirstOrDefault(certificate => certificate.HasPrivateKey) is { } certificate)
            {
                return certificate;
            }
        }

        return null;
    }

    /// <summary>Says once, at start-up in Development, that the keys are stored unprotected.</summary>
    private sealed class UnprotectedKeyRingNotice(ILogger<UnprotectedKeyRingNotice> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            logger.LogWarning(
                "Development: the signing keys and the cookie keys are stored in the database without encryption. "
                + "Anyone who can read the database file can sign tokens. Set {Setting} before running anywhere else.",
                $"{KeyRingOptions.SectionName}:CertificatePath");
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
