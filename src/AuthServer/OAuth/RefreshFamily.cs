using System.Globalization;
using System.Security.Claims;
using OpenIddict.Abstractions;

namespace AuthServer.OAuth;

/// <summary>
/// When the sign-in that started a family of refresh tokens happened: a claim of the code and of every refresh token
/// issued from it (never of an access or identity token), so that rotation cannot keep a grant alive forever.
/// </summary>
internal static class RefreshFamily
{
    /// <summary>Unix seconds of the sign-in that issued the family's code.</summary>
    public const string StartedClaim = "family_started";

    public static void Start(ClaimsIdentity identity, DateTimeOffset now) =>
        identity.SetClaim(StartedClaim, now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));

    /// <summary>
    /// How long the family may still live. A token issued before the claim existed starts its family now.
    /// </summary>
    public static TimeSpan TimeLeft(ClaimsIdentity identity, TimeSpan absoluteLifetime, DateTimeOffset now)
    {
        if (!long.TryParse(identity.GetClaim(StartedClaim), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            Start(identity, now);
            return absoluteLifetime;
        }

        return DateTimeOffset.FromUnixTimeSeconds(seconds) + absoluteLifetime - now;
    }
}
