namespace AuthServer.Core;

/// <summary>Pages about an app that people see before they consent (RFC 7591 <c>policy_uri</c>, <c>tos_uri</c>, <c>logo_uri</c>).</summary>
public sealed record AppLinks(Uri? PolicyUri, Uri? TosUri, Uri? LogoUri)
{
    public const string PolicyProperty = "policy_uri";
    public const string TosProperty = "tos_uri";
    public const string LogoProperty = "logo_uri";

    /// <summary>The longest link accepted, as for redirect URIs.</summary>
    public const int MaxLength = 2000;

    public static readonly AppLinks None = new(null, null, null);

    public IEnumerable<(string Property, Uri? Uri)> All => [(PolicyProperty, PolicyUri), (TosProperty, TosUri), (LogoProperty, LogoUri)];

    /// <summary>
    /// The links as a form or a registration gives them (empty for none); <see langword="null"/> and the offending text
    /// when one is not an absolute URL. The rules (<see cref="Check"/>) are applied when the registration is validated.
    /// </summary>
    public static (AppLinks? Links, string? NotAUrl) Parse(string? policyUri, string? tosUri, string? logoUri)
    {
        var links = new Uri?[3];
        string?[] given = [policyUri, tosUri, logoUri];
        for (var i = 0; i < given.Length; i++)
        {
            if (!string.IsNullOrWhiteSpace(given[i]) && !Uri.TryCreate(given[i]!.Trim(), UriKind.Absolute, out links[i]))
            {
                return (null, given[i]);
            }
        }

        return (new AppLinks(links[0], links[1], links[2]), null);
    }

    /// <summary>The links kept in an app's properties (only those that still pass <see cref="Check"/>).</summary>
    public static AppLinks From(IReadOnlyDictionary<string, System.Text.Json.JsonElement> properties)
    {
        Uri? Read(string name) =>
            properties.TryGetValue(name, out var value) && value.ValueKind == System.Text.Json.JsonValueKind.String
            && Uri.TryCreate(value.GetString(), UriKind.Absolute, out var uri) && Check(uri) is null ? uri : null;
        return new AppLinks(Read(PolicyProperty), Read(TosProperty), Read(LogoProperty));
    }

    /// <summary>What is wrong with a link: it must be an absolute https URL (http on loopback), without credentials.</summary>
    public static string? Check(Uri uri) =>
        !uri.IsAbsoluteUri || uri.OriginalString.Length > MaxLength
            || uri.OriginalString.Any(character => char.IsControl(character) || char.IsWhiteSpace(character))
            ? "must be an absolute URL of at most 2000 characters, without spaces."
            : uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback)
                ? string.IsNullOrEmpty(uri.UserInfo) ? null : "must not carry a user name or password."
                : "must be https (http on loopback only).";
}
