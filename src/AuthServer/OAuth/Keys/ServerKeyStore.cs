using System.Security.Cryptography;
using AuthServer.Core;
using AuthServer.Data;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace AuthServer.OAuth.Keys;

/// <summary>
/// The signing and encryption keys in the database: made, rotated, read and removed here. A key is protected with
/// Data Protection, whose key ring is in the same database (encrypted at rest with a certificate outside
/// Development). Keys of one purpose are numbered by generation, unique per purpose, so nodes racing to add the next
/// key add exactly one: the others' inserts fail and they read the winner's.
/// </summary>
internal sealed class ServerKeyStore(
    IServiceScopeFactory scopes,
    IDataProtectionProvider dataProtection,
    IOptions<OAuthOptions> oauth,
    IOptions<ServerKeyOptions> options,
    ServerMetrics metrics,
    TimeProvider clock,
    ILogger<ServerKeyStore> logger)
{
    private const string ProtectorPurpose = "AuthServer.ServerKeys.v1";

    public const string EncryptionAlgorithm = SecurityAlgorithms.Aes256KW;

    /// <summary>The purposes whose keys this store manages: those not given as certificates in configuration.</summary>
    public IReadOnlyList<string> ManagedPurposes { get; } =
    [
        .. string.IsNullOrEmpty(oauth.Value.SigningCertificatePath) ? [ServerKeyPurposes.Signing] : Array.Empty<string>(),
        .. string.IsNullOrEmpty(oauth.Value.EncryptionCertificatePath) ? [ServerKeyPurposes.Encryption] : Array.Empty<string>(),
    ];

    public async Task<IReadOnlyList<ServerKeyState>> ListAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var rows = await scope.ServiceProvider.GetRequiredService<AuthDbContext>().ServerKeys.AsNoTracking().ToListAsync(cancellationToken);
        return States(rows);
    }

    private IReadOnlyList<ServerKeyState> States(IEnumerable<ServerKey> rows)
    {
        var settings = options.Value;
        var retainEncryption = settings.RetainAfter > oauth.Value.RefreshTokenLifetime ? settings.RetainAfter : oauth.Value.RefreshTokenLifetime;
        return ServerKeyLifecycle.Of(rows, clock.GetUtcNow(), settings.RetainAfter, retainEncryption, settings.RotationInterval);
    }

    /// <summary>
    /// Makes sure every managed purpose has a current key of the configured algorithm (making one that is current at
    /// once on a new database, or when the signing algorithm changed), and announces the next key when a rotation is
    /// due within <see cref="ServerKeyOptions.AnnounceBefore"/>. Returns the keys as they are afterwards.
    /// </summary>
    public async Task<IReadOnlyList<ServerKeyState>> EnsureAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var states = await ListAsync(cancellationToken);
        var attempted = false;
        foreach (var purpose in ManagedPurposes)
        {
            var now = clock.GetUtcNow();
            var mine = states.Where(state => state.Key.Purpose == purpose).ToList();
            var current = mine.FirstOrDefault(state => state.Status == ServerKeyStatus.Current);
            var announced = mine.LastOrDefault(state => state.Status == ServerKeyStatus.Announced);
            if (current is null || current.Key.Algorithm != AlgorithmOf(purpose))
            {
                if (announced is null || announced.Key.Algorithm != AlgorithmOf(purpose))
                {
                    await TryAddAsync(purpose, NextGeneration(mine), now, "initial", revokeEarlier: false, cancellationToken);
                    attempted = true;
                }
            }
            else if (announced is null && current.Key.ActivatesAt + settings.RotationInterval - settings.AnnounceBefore <= now)
            {
                var activates = current.Key.ActivatesAt + settings.RotationInterval;
                if (activates < now + settings.AnnounceBefore)
                {
                    activates = now + settings.AnnounceBefore;
                }

                await TryAddAsync(purpose, NextGeneration(mine), activates, "scheduled", revokeEarlier: false, cancellationToken);
                attempted = true;
            }
        }

        return attempted ? await ListAsync(cancellationToken) : states;
    }

    /// <summary>
    /// Adds the next key of each of <paramref name="purposes"/>: announced for <see cref="ServerKeyOptions.AnnounceBefore"/>,
    /// or, with <paramref name="immediately"/>, current at once with every earlier key of the purpose revoked.
    /// </summary>
    /// <exception cref="InvalidOperationException">A key is already announced (a routine rotation is under way), or
    /// another node added the same generation at the same time.</exception>
    public async Task<IReadOnlyList<ServerKey>> RotateAsync(IReadOnlyList<string> purposes, bool immediately, CancellationToken cancellationToken)
    {
        var states = await ListAsync(cancellationToken);
        var added = new List<ServerKey>();
        foreach (var purpose in purposes)
        {
            var mine = states.Where(state => state.Key.Purpose == purpose).ToList();
            if (!immediately && mine.FirstOrDefault(state => state.Status == ServerKeyStatus.Announced) is { } announced)
            {
                throw new InvalidOperationException(
                    $"The {purpose} key '{announced.Key.KeyId}' is already announced and becomes current at {announced.Key.ActivatesAt:u}; "
                    + "use --now to replace the current key at once.");
            }

            var now = clock.GetUtcNow();
            var (key, revoked) = await TryAddAsync(purpose, NextGeneration(mine), immediately ? now : now + options.Value.AnnounceBefore,
                    immediately ? "emergency" : "manual", revokeEarlier: immediately, cancellationToken);
            if (key is null)
            {
                throw new InvalidOperationException($"Another node added a {purpose} key at the same time; run 'keys list' and try again if needed.");
            }

            if (immediately)
            {
                logger.LogWarning("Emergency rotation: the {Purpose} key {KeyId} is current and {Count} earlier key(s) were revoked.", purpose, key.KeyId, revoked);
            }

            added.Add(key);
        }

        return added;
    }

    /// <summary>Deletes the rows of keys that are neither used nor published any more.</summary>
    public async Task<long> DeleteRemovedAsync(CancellationToken cancellationToken)
    {
        var removed = (await ListAsync(cancellationToken)).Where(state => state.Status == ServerKeyStatus.Removed).Select(state => state.Key.Id).ToList();
        if (removed.Count == 0)
        {
            return 0;
        }

        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AuthDbContext>().ServerKeys
            .Where(key => removed.Contains(key.Id))
            .ExecuteDeleteAsync(cancellationToken);
    }

    public byte[] Unprotect(ServerKey key) =>
        dataProtection.CreateProtector(ProtectorPurpose).Unprotect(Convert.FromBase64String(key.ProtectedMaterial));

    private string AlgorithmOf(string purpose) => purpose == ServerKeyPurposes.Signing ? oauth.Value.SigningAlgorithm : EncryptionAlgorithm;

    private static int NextGeneration(IEnumerable<ServerKeyState> states) => states.Select(state => state.Key.Generation).DefaultIfEmpty(0).Max() + 1;

    /// <summary>
    /// Adds a key of <paramref name="generation"/>; <see langword="null"/> when another node added that generation first.
    /// With <paramref name="revokeEarlier"/>, the earlier keys of the purpose are revoked in the same transaction, so
    /// that no node reads the new key current while an old one is still published.
    /// </summary>
    private async Task<(ServerKey? Key, int Revoked)> TryAddAsync(
        string purpose, int generation, DateTimeOffset activates, string reason, bool revokeEarlier, CancellationToken cancellationToken)
    {
        var algorithm = AlgorithmOf(purpose);
        var material = Generate(algorithm);
        var key = new ServerKey
        {
            Purpose = purpose,
            Algorithm = algorithm,
            Generation = generation,
            KeyId = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)),
            ProtectedMaterial = Convert.ToBase64String(dataProtection.CreateProtector(ProtectorPurpose).Protect(material)),
            CreatedAt = clock.GetUtcNow(),
            ActivatesAt = activates,
        };
        CryptographicOperations.ZeroMemory(material);

        await using var scope = scopes.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
        context.ServerKeys.Add(key);
        var earlier = revokeEarlier
            ? await context.ServerKeys.Where(other => other.Purpose == purpose && other.Generation < generation && other.RevokedAt == null).ToListAsync(cancellationToken)
            : [];
        earlier.ForEach(other => other.RevokedAt = activates);
        try
        {
            await context.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            if (await GenerationTakenAsync(purpose, generation, cancellationToken))
            {
                return (null, 0);
            }

            throw;
        }

        metrics.KeyRotated(purpose, reason);
        logger.LogInformation(
            "Added the {Purpose} key {KeyId} ({Algorithm}, generation {Generation}, {Reason}); it becomes current at {ActivatesAt:u}.",
            purpose, key.KeyId, algorithm, generation, reason, activates);
        return (key, earlier.Count);
    }

    private async Task<bool> GenerationTakenAsync(string purpose, int generation, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AuthDbContext>().ServerKeys
            .AnyAsync(key => key.Purpose == purpose && key.Generation == generation, cancellationToken);
    }

    private static byte[] Generate(string algorithm) => algorithm switch
    {
        SecurityAlgorithms.EcdsaSha256 => ExportAndDispose(ECDsa.Create(ECCurve.NamedCurves.nistP256), static ec => ec.ExportECPrivateKey()),
        SecurityAlgorithms.RsaSha256 => ExportAndDispose(RSA.Create(2048), static rsa => rsa.ExportRSAPrivateKey()),
        _ => RandomNumberGenerator.GetBytes(32),
    };

    private static byte[] ExportAndDispose<T>(T algorithm, Func<T, byte[]> export)
        where T : IDisposable
    {
        using (algorithm)
        {
            return export(algorithm);
        }
    }
}
