using System.Net.Http.Headers;
using System.Text;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.OAuth;

/// <summary>A client's id and secret as a request presents them: HTTP Basic (RFC 6749 section 2.3.1) or the form.</summary>
internal readonly record struct ClientCredentials(string ClientId, string Secret)
{
    /// <summary>The credentials, or <see langword="null"/> when the request carries none (or a malformed header).</summary>
    public static ClientCredentials? Read(HttpRequest request, IFormCollection form)
    {
        string? clientId = form[Parameters.ClientId], secret = form[Parameters.ClientSecret];
        if (AuthenticationHeaderValue.TryParse(request.Headers.Authorization, out var header)
            && string.Equals(header.Scheme, "Basic", StringComparison.OrdinalIgnoreCase)
            && header.Parameter is { } parameter)
        {
            try
            {
                var pair = Encoding.UTF8.GetString(Convert.FromBase64String(parameter)).Split(':', 2);
                (clientId, secret) = pair.Length == 2
                    ? (Uri.UnescapeDataString(pair[0]), Uri.UnescapeDataString(pair[1]))
                    : (null, null);
            }
            catch (FormatException)
            {
                return null;
            }
        }

        return string.IsNullOrEmpty(clientId) || string.IsNullOrEmpty(secret) ? null : new ClientCredentials(clientId, secret);
    }
}
