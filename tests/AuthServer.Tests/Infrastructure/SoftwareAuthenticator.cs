using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AuthServer.Tests.Infrastructure;

/// <summary>
/// A WebAuthn authenticator in software holding one ES256 passkey, answering the server's options with the JSON a
/// browser's <c>PublicKeyCredential.toJSON()</c> gives ("none" attestation, user present and verified), so that the
/// passkey paths run in the in-process suite on every database. Chromium's virtual authenticator covers the page's
/// script in the browser suite.
/// </summary>
public sealed class SoftwareAuthenticator(string origin) : IDisposable
{
    private const byte UserPresent = 0x01;
    private const byte UserVerified = 0x04;
    private const byte AttestedData = 0x40;

    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private byte[]? _userHandle;
    private uint _counter;

    public byte[] CredentialId { get; } = RandomNumberGenerator.GetBytes(16);

    public string CredentialIdText => Base64Url.EncodeToString(CredentialId);

    /// <summary>The answer to creation options (<c>navigator.credentials.create()</c>).</summary>
    public string Create(string optionsJson)
    {
        var options = JsonNode.Parse(optionsJson)!;
        _userHandle = Base64Url.DecodeFromChars(options["user"]!["id"]!.GetValue<string>());
        var clientData = ClientData("webauthn.create", options["challenge"]!.GetValue<string>());
        var parameters = _key.ExportParameters(includePrivateParameters: false);
        byte[] coseKey =
        [
            0xA5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, // kty: EC2, alg: ES256 (-7), crv: P-256
            0x21, 0x58, 0x20, .. parameters.Q.X!,
            0x22, 0x58, 0x20, .. parameters.Q.Y!,
        ];
        var attested = new byte[16 + 2 + CredentialId.Length];
        BinaryPrimitives.WriteUInt16BigEndian(attested.AsSpan(16), (ushort)CredentialId.Length);
        CredentialId.CopyTo(attested, 18);
        var authenticatorData = AuthenticatorData(options["rp"]!["id"]!.GetValue<string>(), UserPresent | UserVerified | AttestedData, [.. attested, .. coseKey]);

        // CBOR {"fmt": "none", "attStmt": {}, "authData": bytes}.
        byte[] attestationObject =
        [
            0xA3, 0x63, .. "fmt"u8, 0x64, .. "none"u8, 0x67, .. "attStmt"u8, 0xA0,
            0x68, .. "authData"u8, 0x59, (byte)(authenticatorData.Length >> 8), (byte)authenticatorData.Length, .. authenticatorData,
        ];
        return Credential(new JsonObject
        {
            ["clientDataJSON"] = Base64Url.EncodeToString(clientData),
            ["attestationObject"] = Base64Url.EncodeToString(attestationObject),
            ["transports"] = new JsonArray("internal"),
        });
    }

    /// <summary>The answer to request options (<c>navigator.credentials.get()</c>), signed with the passkey.</summary>
    public string Get(string optionsJson, string? rpId = null)
    {
        var options = JsonNode.Parse(optionsJson)!;
        var clientData = ClientData("webauthn.get", options["challenge"]!.GetValue<string>());
        var authenticatorData = AuthenticatorData(rpId ?? options["rpId"]!.GetValue<string>(), UserPresent | UserVerified, []);
        var signature = _key.SignData([.. authenticatorData, .. SHA256.HashData(clientData)], HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        return Credential(new JsonObject
        {
            ["clientDataJSON"] = Base64Url.EncodeToString(clientData),
            ["authenticatorData"] = Base64Url.EncodeToString(authenticatorData),
            ["signature"] = Base64Url.EncodeToString(signature),
            ["userHandle"] = Base64Url.EncodeToString(_userHandle ?? throw new InvalidOperationException("No passkey was created.")),
        });
    }

    public void Dispose() => _key.Dispose();

    private byte[] ClientData(string type, string challenge) => JsonSerializer.SerializeToUtf8Bytes(
        new JsonObject { ["type"] = type, ["challenge"] = challenge, ["origin"] = origin, ["crossOrigin"] = false });

    private byte[] AuthenticatorData(string rpId, int flags, byte[] attested)
    {
        var counter = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(counter, ++_counter);
        return [.. SHA256.HashData(Encoding.UTF8.GetBytes(rpId)), (byte)flags, .. counter, .. attested];
    }

    private string Credential(JsonObject response) => new JsonObject
    {
        ["id"] = CredentialIdText,
        ["rawId"] = CredentialIdText,
        ["type"] = "public-key",
        ["authenticatorAttachment"] = "platform",
        ["clientExtensionResults"] = new JsonObject(),
        ["response"] = response,
    }.ToJsonString();
}
