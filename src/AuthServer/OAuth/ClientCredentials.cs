using System.Text;
using Microsoft.Net.Http.Headers;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.OAuth;

/// <summary>
/// A client's id and secret as a request presents them: HTTP Basic (RFC 6749 §2.3.1: each form-urlencoded, then
/// joined by a colon and base64-encoded) or the form. The one reader of client credentials outside OpenIddict; it reads
/// them exactly as OpenIddict does, so that the two never disagree about who is calling.
/// </summary>
internal readonly record struct ClientCredentials(string ClientId, string Secret)
{
    /// <summary>
    /// The credentials; <see langword="null"/> when the request carries none, a malformed header, or both a header and
    /// a secret in the form (which OpenIddict refuses).
    /// </summary>
    public static ClientCredentials? Read(HttpRequest request, IFormCollection form)
    {
        string? clientId = form[Parameters.ClientId], secret = form[Parameters.ClientSecret];
        var header = request.Headers[HeaderNames.Authorization].ToString();
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            if (!string.IsNullOrEmpty(secret) || !TryReadBasic(header, out clientId, out secret))
            {
                return null;
            }
        }

        return string.IsNullOrEmpty(clientId) || string.IsNullOrEmpty(secret) ? null : new ClientCredentials(clientId, secret);
    }

    private static bool TryReadBasic(string header, out string? clientId, out string? secret)
    {
        clientId = secret = null;
        try
        {
            var decoded = Encoding.ASCII.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                return false;
            }

            clientId = Unescape(decoded[..colon]);
            secret = Unescape(decoded[(colon + 1)..]);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    // application/x-www-form-urlencoded: '+' is a space.
    private static string? Unescape(string value) =>
        value.Length == 0 ? null : Uri.UnescapeDataString(value.Replace("+", "%20", StringComparison.Ordinal));
}
