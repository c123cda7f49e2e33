namespace AuthServer.Data;

/// <summary>
/// A key the authorization server signs or encrypts tokens with, kept in the database so that a restart, and every
/// node sharing the database, uses the same keys; the private material is protected with Data Protection, whose key
/// ring lives in the same database. Keys of one purpose follow each other by <see cref="Generation"/>: a key is
/// announced until <see cref="ActivatesAt"/>, then current until the next generation activates, then retired.
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

    /// <summary>1, 2, 3... within a purpose; unique, so that nodes racing a rotation add exactly one key.</summary>
    public int Generation { get; set; }

    /// <summary>When the key starts signing (or encrypting); before that it is only published (announced).</summary>
    public DateTimeOffset ActivatesAt { get; set; }

    /// <summary>Set by an emergency rotation: the key is withdrawn at once, and what it signed no longer validates.</summary>
    public DateTimeOffset? RevokedAt { get; set; }
}

public static class ServerKeyPurposes
{
    public const string Signing = "signing";
    public const string Encryption = "encryption";
}
