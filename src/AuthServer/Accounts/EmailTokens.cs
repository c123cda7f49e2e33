using System.Text;
using Microsoft.AspNetCore.WebUtilities;

namespace AuthServer.Accounts;

/// <summary>Identity's tokens as they travel in the links of emails (base64url), and back.</summary>
internal static class EmailTokens
{
    public static string Encode(string token) => WebEncoders.Base64UrlEncode(Encoding.UTF8.GetBytes(token));

    /// <summary>The token a link carried, or <see langword="null"/> when it is missing, too long or not base64url.</summary>
    public static string? Decode(string? code)
    {
        if (string.IsNullOrEmpty(code) || code.Length > 2000)
        {
            return null;
        }

        try
        {
            return Encoding.UTF8.GetString(WebEncoders.Base64UrlDecode(code));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
