using System.Security.Cryptography;
using AuthServer.OAuth;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.Clients;

/// <summary>What it takes to register an OAuth client.</summary>
public sealed record ClientRegistration(
    string Name,
    IReadOnlyList<Uri> RedirectUris,
    bool IsPublic,
    IReadOnlyList<string> Scopes,
    IReadOnlyList<Uri>? PostLogoutRedirectUris = null);

/// <summary>The result of a registration: the secret is returned here once and stored only as a hash.</summary>
public sealed record RegisteredClient(string ClientId, string? ClientSecret);

/// <summary>Registers OAuth clients (used by the CLI now, and by the admin API and dashboard).</summary>
internal sealed class ClientRegistrar(IOpenIddictApplicationManager applications)
{
    /// <summary>The scopes a client gets when none are named: sign-in, profile and read access.</summary>
    public static readonly IReadOnlyList<string> DefaultScopes =
        [Scopes.OpenId, Scopes.Profile, Scopes.Email, Scopes.OfflineAccess, PlatformScopes.Read];

    public async Task<RegisteredClient> RegisterAsync(ClientRegistration registration, CancellationToken cancellationToken)
    {
        var errors = Validate(registration);
        if (errors.Count > 0)
        {
            throw new ClientRegistrationException(string.Join(" ", errors));
        }

        var clientId = NewIdentifier(16);
        var clientSecret = registration.IsPublic ? null : NewIdentifier(32);
        var descriptor = new OpenIddictApplicationDescriptor
        {
            ClientId = clientId,
            ClientSecret = clientSecret,
            ClientType = registration.IsPublic ? ClientTypes.Public : ClientTypes.Confidential,
            ConsentType = ConsentTypes.Explicit,
            DisplayName = registration.Name,
            Permissions =
            {
                Permissions.Endpoints.Authorization,
                Permissions.Endpoints.Token,
                Permissions.Endpoints.EndSession,
                Permissions.GrantTypes.AuthorizationCode,
                Permissions.GrantTypes.RefreshToken,
                Permissions.ResponseTypes.Code,
            },
            Requirements = { Requirements.Features.ProofKeyForCodeExchange },
        };

        foreach (var uri in registration.RedirectUris)
        {
            descriptor.RedirectUris.Add(uri);
        }

        foreach (var uri in registration.PostLogoutRedirectUris ?? [])
        {
            descriptor.PostLogoutRedirectUris.Add(uri);
        }

        // openid needs no permission in OpenIddict; every other scope does, so a client gets only what it was
        // registered with.
        foreach (var scope in registration.Scopes.Distinct(StringComparer.Ordinal).Where(scope => scope != Scopes.OpenId))
        {
            descriptor.Permissions.Add(Permissions.Prefixes.Scope + scope);
        }

        await applications.CreateAsync(descriptor, cancellationToken);
        return new RegisteredClient(clientId, clientSecret);
    }

    internal static List<string> Validate(ClientRegistration registration)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(registration.Name) || registration.Name.Length > 200)
        {
            errors.Add("The client name is required (at most 200 characters).");
        }

        if (registration.RedirectUris.Count == 0)
        {
            errors.Add("At least one redirect URI is required.");
        }

        foreach (var uri in registration.RedirectUris.Concat(registration.PostLogoutRedirectUris ?? []))
        {
            if (RedirectUriRules.Check(uri) is { } problem)
            {
                errors.Add($"Redirect URI '{uri}': {problem}");
            }
        }

        foreach (var scope in registration.Scopes.Where(scope => !OAuthServerExtensions.SupportedScopes.Contains(scope)))
        {
            errors.Add($"Unknown scope '{scope}'; known scopes: {string.Join(' ', OAuthServerExtensions.SupportedScopes)}.");
        }

        return errors;
    }

    private static string NewIdentifier(int bytes) => Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(bytes));
}

internal sealed class ClientRegistrationException(string message) : Exception(message);

/// <summary>RFC 9700 §2.1 and RFC 8252: redirect URIs are compared exactly, so they must be exact.</summary>
internal static class RedirectUriRules
{
    public static string? Check(Uri uri)
    {
        if (!uri.IsAbsoluteUri)
        {
            return "must be absolute.";
        }

        if (!string.IsNullOrEmpty(uri.Fragment))
        {
            return "must not have a fragment.";
        }

        if (uri.OriginalString.Contains('*', StringComparison.Ordinal))
        {
            return "must not contain a wildcard.";
        }

        if (uri.Scheme == Uri.UriSchemeHttps)
        {
            return null;
        }

        if (uri.Scheme == Uri.UriSchemeHttp)
        {
            return uri.IsLoopback ? null : "plain http is allowed for loopback addresses only; use https.";
        }

        // Private-use schemes for native apps (RFC 8252 §7.1) are reverse domain names such as com.example.app.
        return uri.Scheme.Contains('.', StringComparison.Ordinal) && uri.Scheme is not ("javascript" or "data" or "file")
            ? null
            : $"the scheme '{uri.Scheme}' is not allowed; use https, http on loopback, or a private-use scheme like com.example.app.";
    }
}

internal static class ClientsExtensions
{
    public static IServiceCollection AddClients(this IServiceCollection services)
    {
        services.AddScoped<ClientRegistrar>();
        return services;
    }
}
