using System.ComponentModel.DataAnnotations;

namespace AuthServer.Hosting;

/// <summary>How the server is reached: directly over HTTPS, or behind a TLS-terminating proxy.</summary>
public sealed class TransportOptions
{
    public const string SectionName = "Transport";

    /// <summary>
    /// Trust <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> from the proxies listed in <see cref="KnownProxies"/>
    /// (and from loopback, which ASP.NET Core always trusts), so that a proxy terminating TLS is seen as HTTPS.
    /// </summary>
    public bool UseForwardedHeaders { get; set; }

    /// <summary>IP addresses of the reverse proxies whose forwarded headers are trusted.</summary>
    public IList<string> KnownProxies { get; } = [];

    /// <summary>The <c>Strict-Transport-Security</c> max-age sent outside Development.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "730.00:00:00")]
    public TimeSpan HstsMaxAge { get; set; } = TimeSpan.FromDays(365);
}
