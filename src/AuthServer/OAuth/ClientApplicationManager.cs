using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Core;
using OpenIddict.EntityFrameworkCore.Models;

namespace AuthServer.OAuth;

/// <summary>
/// OpenIddict's application manager with two changes to client secrets:
/// <list type="bullet">
/// <item>Secrets are generated here with 256 random bits, never chosen by a person, so they are stored as SHA-256
/// rather than PBKDF2: a password-strength hash protects low-entropy secrets and costs milliseconds on every token and
/// introspection request, where a hash of a 256-bit secret is as safe and costs a microsecond. Secrets stored as
/// PBKDF2 (by OpenIddict's default) still validate.</item>
/// <item>After a rotation the previous secret keeps working until its grace period ends
/// (<see cref="PreviousSecretProperty"/>).</item>
/// </list>
/// A change or deletion also tells <see cref="AccessTokenStatus"/> (a deleted client's tokens go with it; answers
/// remembered about a client's tokens may depend on its secret).
/// </summary>
internal class ClientApplicationManager(
    IOpenIddictApplicationCache<OpenIddictEntityFrameworkCoreApplication> cache,
    ILogger<OpenIddictApplicationManager<OpenIddictEntityFrameworkCoreApplication>> logger,
    IOptionsMonitor<OpenIddictCoreOptions> options,
    IOpenIddictApplicationStore<OpenIddictEntityFrameworkCoreApplication> store,
    TimeProvider clock,
    AccessTokenStatus tokenStatus)
    : OpenIddictApplicationManager<OpenIddictEntityFrameworkCoreApplication>(cache, logger, options, store)
{
    /// <summary>The application property holding the previous secret's hash and the end of its grace period.</summary>
    public const string PreviousSecretProperty = "previous_client_secret";

    private const string Sha256Prefix = "sha256:";

    public override async ValueTask UpdateAsync(OpenIddictEntityFrameworkCoreApplication application, CancellationToken cancellationToken = default)
    {
        await base.UpdateAsync(application, cancellationToken);
        tokenStatus.InvalidateAll();
    }

    public override async ValueTask DeleteAsync(OpenIddictEntityFrameworkCoreApplication application, CancellationToken cancellationToken = default)
    {
        // The store deletes the client's tokens and authorizations with it.
        await base.DeleteAsync(application, cancellationToken);
        tokenStatus.InvalidateAll();
    }

    public override async ValueTask<bool> ValidateClientSecretAsync(
        OpenIddictEntityFrameworkCoreApplication application, string secret, CancellationToken cancellationToken = default)
    {
        if (await base.ValidateClientSecretAsync(application, secret, cancellationToken))
        {
            return true;
        }

        var properties = await GetPropertiesAsync(application, cancellationToken);
        if (!properties.TryGetValue(PreviousSecretProperty, out var previous)
            || previous.ValueKind != JsonValueKind.Object
            || !previous.TryGetProperty("hash", out var hash)
            || !previous.TryGetProperty("expires_at", out var expiresAt)
            || clock.GetUtcNow().ToUnixTimeSeconds() >= expiresAt.GetInt64())
        {
            return false;
        }

        return await ValidateClientSecretAsync(secret, hash.GetString()!, cancellationToken);
    }

    /// <summary>Hashes a secret the way this manager stores it (for the previous secret kept during a rotation).</summary>
    public ValueTask<string> HashSecretAsync(string secret, CancellationToken cancellationToken) =>
        ObfuscateClientSecretAsync(secret, cancellationToken);

    protected override ValueTask<string> ObfuscateClientSecretAsync(string secret, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Sha256Prefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret))));

    protected override ValueTask<bool> ValidateClientSecretAsync(
        string secret, string comparand, CancellationToken cancellationToken = default)
    {
        if (!comparand.StartsWith(Sha256Prefix, StringComparison.Ordinal))
        {
            return base.ValidateClientSecretAsync(secret, comparand, cancellationToken);
        }

        var expected = Encoding.ASCII.GetBytes(comparand[Sha256Prefix.Length..]);
        var actual = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret))));
        return ValueTask.FromResult(CryptographicOperations.FixedTimeEquals(expected, actual));
    }
}
