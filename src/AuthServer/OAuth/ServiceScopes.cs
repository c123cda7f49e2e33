using System.Collections.Immutable;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.OAuth;

/// <summary>The scopes of a service acting as itself (<c>client_credentials</c>).</summary>
internal static class ServiceScopes
{
    /// <summary>What a service gets when it asks for no scope: every scope it is allowed, but none for a person.</summary>
    public static ImmutableArray<string> Default(ImmutableArray<string> permissions) =>
        [.. permissions
            .Where(permission => permission.StartsWith(Permissions.Prefixes.Scope, StringComparison.Ordinal))
            .Select(permission => permission[Permissions.Prefixes.Scope.Length..])
            .Where(scope => !IsPersonScope(scope))];

    /// <summary>Scopes that only make sense for a person signing in.</summary>
    public static bool IsPersonScope(string scope) =>
        scope is Scopes.OpenId or Scopes.Profile or Scopes.Email or Scopes.OfflineAccess;
}
