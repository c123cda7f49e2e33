using System.Net;
using System.Text.RegularExpressions;

namespace AuthServer.Bench;

/// <summary>
/// A browser-like HTTP session against a server behind a TLS-terminating proxy: every request says
/// <c>X-Forwarded-Proto: https</c>, and cookies are kept by hand (the server marks them Secure, which .NET's cookie
/// container would never send over the plain-HTTP loopback hop). Redirects are not followed.
/// </summary>
internal sealed partial class WebSession(HttpClient http)
{
    private readonly Dictionary<string, string> _cookies = new(StringComparer.Ordinal);

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, IEnumerable<KeyValuePair<string, string>>? form = null)
    {
        // The server writes absolute redirects for its public (https) address; the requests go to the loopback hop.
        if (Uri.TryCreate(url, UriKind.Absolute, out var absolute) && absolute.Scheme is "http" or "https")
        {
            url = absolute.PathAndQuery;
        }

        using var request = new HttpRequestMessage(method, url);
        request.Headers.Add("X-Forwarded-Proto", "https");
        if (_cookies.Count > 0)
        {
            request.Headers.Add("Cookie", string.Join("; ", _cookies.Select(cookie => $"{cookie.Key}={cookie.Value}")));
        }

        if (form is not null)
        {
            request.Content = new FormUrlEncodedContent(form);
        }

        var response = await http.SendAsync(request);
        if (response.Headers.TryGetValues("Set-Cookie", out var setCookies))
        {
            foreach (var setCookie in setCookies)
            {
                var pair = setCookie.Split(';', 2)[0];
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                var (name, value) = (pair[..equals].Trim(), pair[(equals + 1)..].Trim());
                if (value.Length == 0 || setCookie.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase))
                {
                    _cookies.Remove(name);
                }
                else
                {
                    _cookies[name] = value;
                }
            }
        }

        return response;
    }

    public async Task<string> GetPageAsync(string url)
    {
        using var response = await SendAsync(HttpMethod.Get, url);
        Expect(response, HttpStatusCode.OK, url);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>Follows one redirect answer: returns where it points.</summary>
    public static string Location(HttpResponseMessage response, string what)
    {
        Expect(response, HttpStatusCode.Redirect, what);
        return response.Headers.Location!.OriginalString;
    }

    public static void Expect(HttpResponseMessage response, HttpStatusCode status, string what)
    {
        if (response.StatusCode != status)
        {
            var body = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            throw new InvalidOperationException(
                $"{what}: expected {(int)status}, got {(int)response.StatusCode}: {body[..Math.Min(body.Length, 500)]}");
        }
    }

    public static string Antiforgery(string page) =>
        AntiforgeryPattern().Match(page) is { Success: true } match
            ? WebUtility.HtmlDecode(match.Groups[1].Value)
            : throw new InvalidOperationException("No antiforgery token on the page.");

    /// <summary>The hidden fields of the page's forms (the consent form carries the authorization request).</summary>
    public static List<KeyValuePair<string, string>> HiddenFields(string page) =>
        [.. HiddenPattern().Matches(page).Select(match => KeyValuePair.Create(
            WebUtility.HtmlDecode(match.Groups[1].Value), WebUtility.HtmlDecode(match.Groups[2].Value)))];

    [GeneratedRegex("<input[^>]*name=\"__RequestVerificationToken\"[^>]*value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryPattern();

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\"")]
    private static partial Regex HiddenPattern();
}
