namespace AuthServer.Core;

/// <summary>Absolute links to the server's own pages, for messages read elsewhere (emails).</summary>
internal static class PublicUrl
{
    /// <summary>On the configured issuer (<c>OAuth:Issuer</c>) when there is one, else on the address <paramref name="request"/> came to.</summary>
    public static Uri Of(HttpRequest request, Uri? issuer, string pathAndQuery) =>
        new(issuer ?? new Uri($"{request.Scheme}://{request.Host}{request.PathBase}/"), pathAndQuery.TrimStart('/'));
}
