using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace AuthServer.ApiKeys;

/// <summary>
/// The shape of an API key: <c>aip_</c>, 32 random base62 characters (190 bits), and a 6-character base62 CRC-32
/// of the two. The prefix lets secret scanners recognise a leaked key and lets the platform API tell a key from an
/// OAuth token; the checksum rejects typos, truncations and strings that were never keys without a database lookup.
/// </summary>
internal static class ApiKeyFormat
{
    public const string Prefix = "aip_";
    public const int BodyLength = 32;
    public const int ChecksumLength = 6;
    public const int Length = 4 + BodyLength + ChecksumLength;
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static bool LooksLikeKey(string credential) => credential.StartsWith(Prefix, StringComparison.Ordinal);

    public static string Generate()
    {
        var body = RandomNumberGenerator.GetString(Alphabet, BodyLength);
        return Prefix + body + Checksum(Prefix + body);
    }

    /// <summary>Checks length, alphabet and checksum; says nothing about whether such a key exists.</summary>
    public static bool IsWellFormed(string candidate)
    {
        if (candidate.Length != Length || !candidate.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = candidate.AsSpan(Prefix.Length);
        foreach (var character in rest)
        {
            if (!char.IsAsciiLetterOrDigit(character))
            {
                return false;
            }
        }

        Span<char> expected = stackalloc char[ChecksumLength];
        WriteChecksum(candidate.AsSpan(0, Prefix.Length + BodyLength), expected);
        return CryptographicOperations.FixedTimeEquals(
            MemoryMarshal.AsBytes<char>(expected), MemoryMarshal.AsBytes(candidate.AsSpan(Prefix.Length + BodyLength)));
    }

    /// <summary>SHA-256 of the whole key, lower-case hex. A key of 190 random bits needs no password hashing:
    /// nothing can be guessed from the hash, and checking it costs a microsecond. On the path of every call, so no
    /// buffer is allocated but the result.</summary>
    public static string Hash(string key)
    {
        var bytes = key.Length <= 256 ? stackalloc byte[key.Length] : new byte[key.Length];
        Encoding.ASCII.GetBytes(key, bytes);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes, hash);
        return Convert.ToHexStringLower(hash);
    }

    public static string DisplayPrefix(string key) => key[..(Prefix.Length + 4)];

    public static string LastFour(string key) => key[^4..];

    internal static string Checksum(string payload)
    {
        Span<char> digits = stackalloc char[ChecksumLength];
        WriteChecksum(payload, digits);
        return new string(digits);
    }

    /// <summary>The base62 CRC-32 of an ASCII payload (a key's prefix and body), into <paramref name="digits"/>.</summary>
    private static void WriteChecksum(ReadOnlySpan<char> payload, Span<char> digits)
    {
        var bytes = payload.Length <= 256 ? stackalloc byte[payload.Length] : new byte[payload.Length];
        var value = Crc32.HashToUInt32(bytes[..Encoding.ASCII.GetBytes(payload, bytes)]);
        for (var i = ChecksumLength - 1; i >= 0; i--)
        {
            digits[i] = Alphabet[(int)(value % 62)];
            value /= 62;
        }
    }
}
