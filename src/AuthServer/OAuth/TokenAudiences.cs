using System.Collections.Immutable;
using OpenIddict.Abstractions;

namespace AuthServer.OAuth;

/// <summary>The audiences of access tokens.</summary>
internal static class TokenAudiences
{
    /// <summary>The platform API (<paramref name="audience"/>), and the resources of any scope admins defined.</summary>
    public static async Task<List<string>> AudiencesAsync(
        this IOpenIddictScopeManager scopes, string audience, ImmutableArray<string> names, CancellationToken cancellationToken = default)
    {
        var resources = new List<string> { audience };
        await foreach (var resource in scopes.ListResourcesAsync(names, cancellationToken))
        {
            if (!resources.Contains(resource, StringComparer.Ordinal))
            {
                resources.Add(resource);
            }
        }

        return resources;
    }
}
