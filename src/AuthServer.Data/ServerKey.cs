namespace AuthServer.Data;

/// <summary>
/// A key the authorization server signs or encrypts tokens with. It is generated once and kept in the database so
/// that a restart, and every node sharing the database, uses the same key; the private material is protected with
/// Data Protection, whose key ring lives in the same database.
/// </summary>
public sealed class ServerKey
{
    public long Id { get; set; }

    /// <summary><see cref="ServerKeyPurposes.Signing"/> or <see cref="ServerKeyPurposes.Encryption"/>.</summary>
    public required string Purpose { get; set; }

    /// <summary>The JOSE algorithm the key is used with, for example <c>ES256</c>, <c>RS256</c> or <c>A256KW</c>.</summary>
    public required string Algorithm { get; set; }

    /// <summary>The key's identifier as published in the JWKS (<c>kid</c>).</summary>
    public required string KeyId { get; set; }

    /// <summary>The private key material, protected with Data Protection.</summary>
    public required string ProtectedMaterial { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

public static class ServerKeyPurposes
{
    public const string Signing = "signing";
    public const string Encryption = "encryption";
}
