using System.Security.Cryptography;
using AuthServer.Data;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;

namespace AuthServer.OAuth.Keys;

/// <summary>
/// The keys this node uses now, made from the rows: the current key first (OpenIddict signs and encrypts with the
/// first), then the announced and retired ones (published, and tried for decryption). When the set changes, the
/// OpenIddict server options are built again (this is their change token), so the next request uses the new keys.
/// </summary>
internal sealed class ServerKeySet : IOptionsChangeTokenSource<OpenIddictServerOptions>, IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SecurityKey> _materialized = new(StringComparer.Ordinal);
    private CancellationTokenSource _changed = new();

    public string? Name => Options.DefaultName;

    public IReadOnlyList<SigningCredentials> Signing { get; private set; } = [];

    public IReadOnlyList<EncryptingCredentials> Encryption { get; private set; } = [];

    /// <summary>The published and usable keys with their status, as last applied (what <c>/.well-known/jwks</c> reflects).</summary>
    public string Fingerprint { get; private set; } = string.Empty;

    public IChangeToken GetChangeToken() => new CancellationChangeToken(Volatile.Read(ref _changed).Token);

    /// <summary>Uses the keys in <paramref name="states"/> from now on; true when they differ from the ones in use.</summary>
    /// <param name="states">The keys and their status.</param>
    /// <param name="unprotect">Reads a key's private material.</param>
    /// <param name="notify">Signal the change to the options monitor; not while the options are being built.</param>
    public bool Apply(IReadOnlyList<ServerKeyState> states, Func<ServerKey, byte[]> unprotect, bool notify = true)
    {
        var usable = states
            .Where(state => state.Status is not ServerKeyStatus.Removed)
            .OrderBy(state => state.Status == ServerKeyStatus.Current ? 0 : state.Status == ServerKeyStatus.Announced ? 1 : 2)
            .ThenByDescending(state => state.Key.Generation)
            .ToList();
        var fingerprint = string.Join(';', usable.Select(state => $"{state.Key.Purpose}:{state.Key.KeyId}:{state.Status}"));

        CancellationTokenSource changed;
        lock (_gate)
        {
            if (fingerprint == Fingerprint)
            {
                return false;
            }

            var signing = new List<SigningCredentials>();
            var encryption = new List<EncryptingCredentials>();
            foreach (var state in usable)
            {
                var key = Materialize(state.Key, unprotect);
                if (state.Key.Purpose == ServerKeyPurposes.Signing)
                {
                    signing.Add(new SigningCredentials(key, state.Key.Algorithm));
                }
                else
                {
                    encryption.Add(new EncryptingCredentials(key, state.Key.Algorithm, SecurityAlgorithms.Aes256CbcHmacSha512));
                }
            }

            // Keys no longer in use are forgotten (and an RSA or EC key's handle freed once nothing refers to it).
            foreach (var gone in _materialized.Keys.Except(usable.Select(state => state.Key.KeyId)).ToList())
            {
                _materialized.Remove(gone);
            }

            (Signing, Encryption, Fingerprint) = (signing, encryption, fingerprint);
            if (!notify)
            {
                return true;
            }

            changed = _changed;
            _changed = new CancellationTokenSource();
        }

        // Rebuilds the server options (their monitor listens to this token) with the keys above.
        changed.Cancel();
        return true;
    }

    public void Dispose() => _changed.Dispose();

    private SecurityKey Materialize(ServerKey row, Func<ServerKey, byte[]> unprotect)
    {
        if (_materialized.TryGetValue(row.KeyId, out var known))
        {
            return known;
        }

        var material = unprotect(row);
        try
        {
            SecurityKey key;
            switch (row.Algorithm)
            {
                case SecurityAlgorithms.EcdsaSha256:
                    var ec = ECDsa.Create();
                    ec.ImportECPrivateKey(material, out _);
                    key = new ECDsaSecurityKey(ec) { KeyId = row.KeyId };
                    break;
                case SecurityAlgorithms.RsaSha256:
                    var rsa = RSA.Create();
                    rsa.ImportRSAPrivateKey(material, out _);
                    key = new RsaSecurityKey(rsa) { KeyId = row.KeyId };
                    break;
                default:
                    key = new SymmetricSecurityKey(material.ToArray()) { KeyId = row.KeyId };
                    break;
            }

            _materialized[row.KeyId] = key;
            return key;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }
}
