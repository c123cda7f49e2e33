using System.Collections.Concurrent;
using OtpNet;

namespace AuthServer.Tests.Infrastructure;

/// <summary>
/// Authenticator codes for a key, as an app shows them: the server takes each code once and only a later step after it
/// (RFC 6238 §5.2), within two steps of now, so each code handed out here is of a later step than the one before,
/// starting a step behind the clock.
/// </summary>
public static class AuthenticatorCodes
{
    private static readonly ConcurrentDictionary<string, long> LastStep = new();

    public static string Next(string key)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 30;
        var step = LastStep.AddOrUpdate(key, now - 1, (_, last) => Math.Max(last + 1, now - 1));
        return new Totp(Base32Encoding.ToBytes(key)).ComputeTotp(DateTimeOffset.FromUnixTimeSeconds(step * 30).UtcDateTime);
    }

    /// <summary>The code of the current step (to pick a wrong one that differs from it).</summary>
    public static string Current(string key) => new Totp(Base32Encoding.ToBytes(key)).ComputeTotp();
}
