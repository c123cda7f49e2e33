using System.Security.Cryptography;
using AuthServer.Core;
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
    IReadOnlyList<Uri>? PostLogoutRedirectUris = null,
    IReadOnlyList<string>? GrantTypes = null,
    string? ClientId = null,
    AppLinks? Links = null)
{
    /// <summary>The grant types, <c>authorization_code</c> and <c>refresh_token</c> unless said otherwise.</summary>
    public IReadOnlyList<string> EffectiveGrantTypes => GrantTypes is { Count: > 0 } ? GrantTypes : ClientRegistrar.DefaultGrantTypes;
}

/// <summary>The result of a registration: the secret is returned here once and stored only as a hash.</summary>
public sealed record RegisteredClient(string ClientId, string? ClientSecret);

/// <summary>Registers OAuth clients (used by the CLI now, and by the admin API and dashboard).</summary>
public sealed class ClientRegistrar(IOpenIddictApplicationManager applications, IOpenIddictScopeManager scopes)
{
    /// <summary>The scopes a client gets when none are named: sign-in, profile and read access.</summary>
    public static readonly IReadOnlyList<string> DefaultScopes =
        [Scopes.OpenId, Scopes.Profile, Scopes.Email, Scopes.OfflineAccess, PlatformScopes.Read];

    /// <summary>The longest client name: it is shown on consent pages and lists.</summary>
    public const int MaxNameLength = 200;

    public static readonly IReadOnlyList<string> DefaultGrantTypes = [GrantTypes.AuthorizationCode, GrantTypes.RefreshToken];

    public static readonly IReadOnlyList<string> SupportedGrantTypes =
        [GrantTypes.AuthorizationCode, GrantTypes.RefreshToken, GrantTypes.ClientCredentials];

    public async Task<RegisteredClient> RegisterAsync(ClientRegistration registration, CancellationToken cancellationToken)
    {
        if (Validate(registration, await KnownScopesAsync(cancellationToken)) is { } invalid)
        {
            throw invalid;
        }

        // A resource server introspecting tokens is recognised as their audience by its client_id, so it may
        // choose one (for example the API's resource name); every other client gets a random one.
        var clientId = registration.ClientId ?? NewIdentifier(16);
        if (await applications.FindByClientIdAsync(clientId, cancellationToken) is not null)
        {
            throw new ClientRegistrationException(ClientRegistrationException.InvalidClientMetadata, $"The client_id '{clientId}' is taken.");
        }

        var clientSecret = registration.IsPublic ? null : NewSecret();
        var descriptor = new OpenIddictApplicationDescriptor { ClientId = clientId, ClientSecret = clientSecret };
        Describe(descriptor, registration);

        await applications.CreateAsync(descriptor, cancellationToken);
        return new RegisteredClient(clientId, clientSecret);
    }

    /// <summary>A new client secret: 256 random bits, base64url.</summary>
    public static string NewSecret() => NewIdentifier(32);

    /// <summary>Writes a registration onto an OpenIddict descriptor (new, or populated from an existing client).</summary>
    internal static void Describe(OpenIddictApplicationDescriptor descriptor, ClientRegistration registration)
    {
        descriptor.ClientType = registration.IsPublic ? ClientTypes.Public : ClientTypes.Confidential;
        descriptor.ConsentType = ConsentTypes.Explicit;
        descriptor.DisplayName = registration.Name;

        descriptor.Permissions.Clear();
        descriptor.Permissions.UnionWith([Permissions.Endpoints.Token, Permissions.Endpoints.Revocation]);
        descriptor.Requirements.Clear();
        descriptor.Requirements.Add(Requirements.Features.ProofKeyForCodeExchange);

        var grants = registration.EffectiveGrantTypes;
        if (grants.Contains(GrantTypes.AuthorizationCode))
        {
            descriptor.Permissions.UnionWith([
                Permissions.Endpoints.Authorization,
                Permissions.Endpoints.EndSession,
                Permissions.GrantTypes.AuthorizationCode,
                Permissions.ResponseTypes.Code,
            ]);
        }

        foreach (var grant in grants.Where(grant => grant != GrantTypes.AuthorizationCode))
        {
            descriptor.Permissions.Add(Permissions.Prefixes.GrantType + grant);
        }

        // A confidential client may ask whether a token is active: that is what a resource server does.
        if (!registration.IsPublic)
        {
            descriptor.Permissions.Add(Permissions.Endpoints.Introspection);
        }

        descriptor.RedirectUris.Clear();
        descriptor.RedirectUris.UnionWith(registration.RedirectUris);
        descriptor.PostLogoutRedirectUris.Clear();
        descriptor.PostLogoutRedirectUris.UnionWith(registration.PostLogoutRedirectUris ?? []);

        foreach (var (property, uri) in (registration.Links ?? AppLinks.None).All)
        {
            if (uri is null)
            {
                descriptor.Properties.Remove(property);
            }
            else
            {
                descriptor.Properties[property] = System.Text.Json.JsonSerializer.SerializeToElement(uri.AbsoluteUri);
            }
        }

        // openid needs no permission in OpenIddict; every other scope does, so a client gets only what it was
        // registered with.
        foreach (var scope in registration.Scopes.Distinct(StringComparer.Ordinal).Where(scope => scope != Scopes.OpenId))
        {
            descriptor.Permissions.Add(Permissions.Prefixes.Scope + scope);
        }
    }

    /// <summary>The built-in scopes and those admins created (<c>/admin/scopes</c>).</summary>
    public async Task<IReadOnlySet<string>> KnownScopesAsync(CancellationToken cancellationToken)
    {
        var known = new HashSet<string>(OAuthServerExtensions.SupportedScopes, StringComparer.Ordinal);
        await foreach (var scope in scopes.ListAsync(count: null, offset: null, cancellationToken))
        {
            if (await scopes.GetNameAsync(scope, cancellationToken) is { } name)
            {
                known.Add(name);
            }
        }

        return known;
    }

    /// <summary>Every rule a registration breaks, as one RFC 7591 error; <see langword="null"/> when it is valid.</summary>
    internal static ClientRegistrationException? Validate(ClientRegistration registration, IReadOnlySet<string> knownScopes)
    {
        var errors = new List<string>();
        var redirectErrors = new List<string>();
        if (string.IsNullOrWhiteSpace(registration.Name) || registration.Name.Length > MaxNameLength)
        {
            errors.Add($"The client name is required (at most {MaxNameLength} characters).");
        }
        else if (!DisplayText.IsPlain(registration.Name))
        {
            errors.Add("The client name must not contain control or invisible formatting characters.");
        }

        if (registration.ClientId is { } requestedId
            && (requestedId.Length is < 3 or > 100 || !requestedId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
        {
            errors.Add("A chosen client_id has 3 to 100 letters, digits, '-', '_' or '.'.");
        }

        var grants = registration.EffectiveGrantTypes;
        if (grants.FirstOrDefault(grant => !SupportedGrantTypes.Contains(grant)) is { } unknownGrant)
        {
            errors.Add($"Unknown grant type '{unknownGrant}'; supported: {string.Join(' ', SupportedGrantTypes)}.");
        }

        if (grants.Contains(GrantTypes.AuthorizationCode) && registration.RedirectUris.Count == 0)
        {
            errors.Add("At least one redirect URI is required for the authorization_code grant.");
        }

        if (!grants.Contains(GrantTypes.AuthorizationCode) && registration.RedirectUris.Count > 0)
        {
            errors.Add("Redirect URIs are only for the authorization_code grant.");
        }

        if (registration.IsPublic && grants.Contains(GrantTypes.ClientCredentials))
        {
            errors.Add("A public client cannot use client_credentials: it has no secret to prove who it is.");
        }

        if (registration.Scopes.Contains(PlatformScopes.Admin) && !grants.SequenceEqual([GrantTypes.ClientCredentials]))
        {
            errors.Add("The admin scope is only for confidential clients using client_credentials alone.");
        }

        foreach (var uri in registration.RedirectUris.Concat(registration.PostLogoutRedirectUris ?? []))
        {
            if (RedirectUriRules.Check(uri) is { } problem)
            {
                redirectErrors.Add($"Redirect URI '{uri}': {problem}");
            }
        }

        foreach (var (property, uri) in (registration.Links ?? AppLinks.None).All)
        {
            if (uri is not null && AppLinks.Check(uri) is { } problem)
            {
                errors.Add($"{property} '{uri.OriginalString}' {problem}");
            }
        }

        foreach (var scope in registration.Scopes.Where(scope => !knownScopes.Contains(scope)))
        {
            errors.Add($"Unknown scope '{scope}'; known scopes: {string.Join(' ', knownScopes.Order(StringComparer.Ordinal))}.");
        }

        // A redirect URI problem is reported as invalid_redirect_uri (RFC 7591 §3.2.2), with the other problems.
        return redirectErrors.Count + errors.Count == 0
            ? null
            : new ClientRegistrationException(
                redirectErrors.Count > 0 ? ClientRegistrationException.InvalidRedirectUri : ClientRegistrationException.InvalidClientMetadata,
                string.Join(" ", redirectErrors.Concat(errors)));
    }

    private static string NewIdentifier(int bytes) => Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(bytes));
}

/// <summary>A registration the rules refuse, with its RFC 7591 error code.</summary>
public sealed class ClientRegistrationException(string error, string message) : Exception(message)
{
    public const string InvalidRedirectUri = "invalid_redirect_uri";
    public const string InvalidClientMetadata = "invalid_client_metadata";

    public string Error { get; } = error;
}

/// <summary>RFC 9700 §2.1 and RFC 8252: redirect URIs are compared exactly, so they must be exact.</summary>
internal static class RedirectUriRules
{
    /// <summary>The longest redirect URI accepted; browsers and proxies cut longer ones.</summary>
    public const int MaxLength = 2000;

    public static string? Check(Uri uri)
    {
        if (uri.OriginalString.Length > MaxLength)
        {
            return $"must be at most {MaxLength} characters.";
        }

        if (uri.OriginalString.Any(character => char.IsControl(character) || char.IsWhiteSpace(character)))
        {
            return "must not contain spaces or control characters.";
        }

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
    public static IHostApplicationBuilder AddClients(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddScoped<ClientRegistrar>();
        services.AddScoped<ClientSecretRotator>();
        services.AddScoped<DeveloperApps>();

        // The admin API rotates secrets through the replaced manager itself.
        services.AddScoped(provider => (ClientApplicationManager)provider.GetRequiredService<
            OpenIddict.Core.OpenIddictApplicationManager<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreApplication>>());
        return builder;
    }
}
