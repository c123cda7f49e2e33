using System.Text.Json;
using System.Text.Json.Serialization;
using AuthServer.Audit;
using AuthServer.Clients;
using AuthServer.Core;
using Microsoft.AspNetCore.Http.HttpResults;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.Admin;

/// <summary>
/// <c>/admin/clients</c>: OAuth clients registered and managed by admins, with RFC 7591 / 7592 field names and
/// errors. Clients are addressed by their <c>client_id</c>.
/// </summary>
internal static class ClientsAdminApi
{
    private const int MaxPageSize = 200;

    public static RouteGroupBuilder MapClientsAdmin(this RouteGroupBuilder admin)
    {
        var clients = admin.MapGroup("/clients");
        clients.MapPost("/", CreateAsync);
        clients.MapGet("/", ListAsync);
        clients.MapGet("/{clientId}", GetAsync);
        clients.MapPut("/{clientId}", UpdateAsync);
        clients.MapDelete("/{clientId}", DeleteAsync);
        clients.MapPost("/{clientId}/secret", RotateSecretAsync);
        return admin;
    }

    private static async Task<Results<Created<ClientResponse>, BadRequest<AdminError>>> CreateAsync(
        ClientMetadata metadata, ClientRegistrar registrar, IOpenIddictApplicationManager applications,
        AuditLog audit, HttpContext context, CancellationToken cancellationToken)
    {
        if (ToRegistration(metadata) is not { } registration)
        {
            return TypedResults.BadRequest(Invalid(metadata));
        }

        try
        {
            var created = await registrar.RegisterAsync(registration, cancellationToken);
            var application = (await applications.FindByClientIdAsync(created.ClientId, cancellationToken))!;
            await SetAuthMethodAsync(applications, application, metadata.TokenEndpointAuthMethod, cancellationToken);
            await audit.WriteAsync(AdminExtensions.Actor(context), "client.created", created.ClientId, null,
                new { metadata.ClientName }, cancellationToken);

            var response = await DescribeAsync(applications, application, cancellationToken) with
            {
                ClientSecret = created.ClientSecret,
                ClientSecretExpiresAt = created.ClientSecret is null ? null : 0,
                ClientIdIssuedAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            };
            return TypedResults.Created($"{Routes.Admin}/clients/{created.ClientId}", response);
        }
        catch (ClientRegistrationException exception)
        {
            return TypedResults.BadRequest(new AdminError(exception.Error, exception.Message));
        }
    }

    private static async Task<Ok<ClientPage>> ListAsync(
        IOpenIddictApplicationManager applications, int? offset, int? limit, CancellationToken cancellationToken)
    {
        var skip = Math.Max(offset ?? 0, 0);
        var take = Math.Clamp(limit ?? 50, 1, MaxPageSize);
        var items = new List<ClientResponse>();
        await foreach (var application in applications.ListAsync(take, skip, cancellationToken))
        {
            items.Add(await DescribeAsync(applications, application, cancellationToken));
        }

        return TypedResults.Ok(new ClientPage(items, skip, take, await applications.CountAsync(cancellationToken)));
    }

    private static async Task<Results<Ok<ClientResponse>, NotFound<AdminError>>> GetAsync(
        string clientId, IOpenIddictApplicationManager applications, CancellationToken cancellationToken) =>
        await applications.FindByClientIdAsync(clientId, cancellationToken) is { } application
            ? TypedResults.Ok(await DescribeAsync(applications, application, cancellationToken))
            : TypedResults.NotFound(NotFound(clientId));

    /// <summary>RFC 7592 §2.2: the metadata is replaced as a whole; the client_id and the secret stay.</summary>
    private static async Task<Results<Ok<ClientResponse>, BadRequest<AdminError>, NotFound<AdminError>>> UpdateAsync(
        string clientId, ClientMetadata metadata, IOpenIddictApplicationManager applications, ClientRegistrar registrar,
        AuditLog audit, HttpContext context, CancellationToken cancellationToken)
    {
        if (await applications.FindByClientIdAsync(clientId, cancellationToken) is not { } application)
        {
            return TypedResults.NotFound(NotFound(clientId));
        }

        // RFC 7592 §2.2: the body may repeat the client_id, never change it.
        if (metadata.ClientId is { } bodyId && bodyId != clientId)
        {
            return TypedResults.BadRequest(new AdminError(ClientRegistrationException.InvalidClientMetadata,
                "The client_id in the body must be the one in the path."));
        }

        if (ToRegistration(metadata) is not { } registration)
        {
            return TypedResults.BadRequest(Invalid(metadata));
        }

        var isPublic = await applications.HasClientTypeAsync(application, ClientTypes.Public, cancellationToken);
        if (registration.IsPublic != isPublic)
        {
            return TypedResults.BadRequest(new AdminError(ClientRegistrationException.InvalidClientMetadata,
                "A client cannot change between public and confidential; register a new one."));
        }

        if (ClientRegistrar.Validate(registration, await registrar.KnownScopesAsync(cancellationToken)) is { } invalid)
        {
            return TypedResults.BadRequest(new AdminError(invalid.Error, invalid.Message));
        }

        var descriptor = new OpenIddictApplicationDescriptor();
        await applications.PopulateAsync(descriptor, application, cancellationToken);
        ClientRegistrar.Describe(descriptor, registration);
        await applications.UpdateAsync(application, descriptor, cancellationToken);
        await SetAuthMethodAsync(applications, application, metadata.TokenEndpointAuthMethod, cancellationToken);
        await audit.WriteAsync(AdminExtensions.Actor(context), "client.updated", clientId, null, metadata, cancellationToken);

        return TypedResults.Ok(await DescribeAsync(applications, application, cancellationToken));
    }

    private static async Task<Results<NoContent, NotFound<AdminError>>> DeleteAsync(
        string clientId, IOpenIddictApplicationManager applications, AuditLog audit, HttpContext context,
        CancellationToken cancellationToken)
    {
        if (await applications.FindByClientIdAsync(clientId, cancellationToken) is not { } application)
        {
            return TypedResults.NotFound(NotFound(clientId));
        }

        // The store deletes the client's authorizations and tokens with it.
        await applications.DeleteAsync(application, cancellationToken);
        await audit.WriteAsync(AdminExtensions.Actor(context), "client.deleted", clientId, null, null, cancellationToken);
        return TypedResults.NoContent();
    }

    /// <summary>A new secret, shown once; the old one keeps working for the grace period asked for (0 to 7 days).</summary>
    private static async Task<Results<Ok<SecretResponse>, BadRequest<AdminError>, NotFound<AdminError>>> RotateSecretAsync(
        string clientId, SecretRotation? rotation, ClientSecretRotator rotator, AuditLog audit, HttpContext context,
        CancellationToken cancellationToken)
    {
        // Checked before any arithmetic: a number that does not fit a TimeSpan is a 400, never an overflow.
        var seconds = rotation?.GracePeriodSeconds ?? 0;
        if (seconds < 0 || seconds > (long)ClientSecretRotator.MaxGracePeriod.TotalSeconds)
        {
            return TypedResults.BadRequest(new AdminError("invalid_request", "grace_period_seconds is between 0 and 604800 (7 days)."));
        }

        var grace = TimeSpan.FromSeconds(seconds);

        if (await rotator.RotateAsync(clientId, grace, cancellationToken) is not { } secret)
        {
            return TypedResults.NotFound(new AdminError("not_found", $"No confidential client '{clientId}'."));
        }

        await audit.WriteAsync(AdminExtensions.Actor(context), "client.secret_rotated", clientId, null,
            new { GracePeriodSeconds = (long)grace.TotalSeconds }, cancellationToken);
        return TypedResults.Ok(new SecretResponse(clientId, secret, 0));
    }

    private static ClientRegistration? ToRegistration(ClientMetadata metadata)
    {
        var uris = new List<Uri>();
        foreach (var value in (metadata.RedirectUris ?? []).Concat(metadata.PostLogoutRedirectUris ?? []))
        {
            if (!Uri.TryCreate(value, UriKind.Absolute, out _))
            {
                return null;
            }
        }

        if (AppLinks.Parse(metadata.PolicyUri, metadata.TosUri, metadata.LogoUri).Links is not { } links)
        {
            return null;
        }

        uris.AddRange((metadata.RedirectUris ?? []).Select(value => new Uri(value)));
        var method = metadata.TokenEndpointAuthMethod ?? ClientAuthenticationMethods.ClientSecretBasic;
        if (method is not (ClientAuthenticationMethods.ClientSecretBasic or ClientAuthenticationMethods.ClientSecretPost or "none"))
        {
            return null;
        }

        var grants = metadata.GrantTypes ?? [.. ClientRegistrar.DefaultGrantTypes];
        var responseTypes = metadata.ResponseTypes ?? (grants.Contains(GrantTypes.AuthorizationCode) ? [ResponseTypes.Code] : []);
        var expectedResponseTypes = grants.Contains(GrantTypes.AuthorizationCode) ? new[] { ResponseTypes.Code } : [];
        if (!responseTypes.Order().SequenceEqual(expectedResponseTypes))
        {
            return null;
        }

        return new ClientRegistration(
            metadata.ClientName ?? "",
            uris,
            IsPublic: method == "none",
            metadata.Scope?.Split(' ', StringSplitOptions.RemoveEmptyEntries) is { Length: > 0 } scopes
                ? scopes
                : grants.Contains(GrantTypes.AuthorizationCode) ? ClientRegistrar.DefaultScopes : [PlatformScopes.Read],
            [.. (metadata.PostLogoutRedirectUris ?? []).Select(value => new Uri(value))],
            grants,
            metadata.ClientId,
            links);
    }

    /// <summary>Says what is wrong with metadata that could not even be read into a registration.</summary>
    private static AdminError Invalid(ClientMetadata metadata)
    {
        var badUri = (metadata.RedirectUris ?? []).Concat(metadata.PostLogoutRedirectUris ?? [])
            .FirstOrDefault(value => !Uri.TryCreate(value, UriKind.Absolute, out _));
        if (badUri is not null)
        {
            return new AdminError(ClientRegistrationException.InvalidRedirectUri, $"Redirect URI '{badUri}' must be absolute.");
        }

        if (AppLinks.Parse(metadata.PolicyUri, metadata.TosUri, metadata.LogoUri).NotAUrl is { } badLink)
        {
            return new AdminError(ClientRegistrationException.InvalidClientMetadata, $"'{badLink}' must be an absolute https URL (policy_uri, tos_uri, logo_uri).");
        }

        return new AdminError(ClientRegistrationException.InvalidClientMetadata,
            "token_endpoint_auth_method is client_secret_basic, client_secret_post or none, and response_types is [\"code\"] exactly when grant_types has authorization_code.");
    }

    private static async Task SetAuthMethodAsync(
        IOpenIddictApplicationManager applications, object application, string? method, CancellationToken cancellationToken)
    {
        var descriptor = new OpenIddictApplicationDescriptor();
        await applications.PopulateAsync(descriptor, application, cancellationToken);
        descriptor.Properties["token_endpoint_auth_method"] = JsonSerializer.SerializeToElement(
            method ?? (descriptor.ClientType == ClientTypes.Public ? "none" : ClientAuthenticationMethods.ClientSecretBasic));
        await applications.UpdateAsync(application, descriptor, cancellationToken);
    }

    private static async Task<ClientResponse> DescribeAsync(
        IOpenIddictApplicationManager applications, object application, CancellationToken cancellationToken)
    {
        var descriptor = new OpenIddictApplicationDescriptor();
        await applications.PopulateAsync(descriptor, application, cancellationToken);
        var permissions = descriptor.Permissions;
        var links = AppLinks.From(descriptor.Properties);
        var grants = permissions.Where(p => p.StartsWith(Permissions.Prefixes.GrantType, StringComparison.Ordinal))
            .Select(p => p[Permissions.Prefixes.GrantType.Length..]).Order().ToList();
        var scopes = permissions.Where(p => p.StartsWith(Permissions.Prefixes.Scope, StringComparison.Ordinal))
            .Select(p => p[Permissions.Prefixes.Scope.Length..]).ToList();
        if (grants.Contains(GrantTypes.AuthorizationCode))
        {
            scopes.Insert(0, Scopes.OpenId);
        }

        return new ClientResponse(
            descriptor.ClientId!,
            descriptor.DisplayName,
            [.. descriptor.RedirectUris.Select(uri => uri.OriginalString)],
            [.. descriptor.PostLogoutRedirectUris.Select(uri => uri.OriginalString)],
            grants,
            grants.Contains(GrantTypes.AuthorizationCode) ? [ResponseTypes.Code] : [],
            string.Join(' ', scopes),
            descriptor.Properties.TryGetValue("token_endpoint_auth_method", out var method)
                ? method.GetString()!
                : descriptor.ClientType == ClientTypes.Public ? "none" : ClientAuthenticationMethods.ClientSecretBasic)
        {
            PolicyUri = links.PolicyUri?.AbsoluteUri,
            TosUri = links.TosUri?.AbsoluteUri,
            LogoUri = links.LogoUri?.AbsoluteUri,
        };
    }

    private static AdminError NotFound(string clientId) => new("not_found", $"No client '{clientId}'.");
}

/// <summary>RFC 7591 §2 client metadata; a <c>client_id</c> may be chosen at creation (a resource server names itself).</summary>
internal sealed record ClientMetadata(
    [property: JsonPropertyName("client_name")] string? ClientName,
    [property: JsonPropertyName("redirect_uris")] List<string>? RedirectUris,
    [property: JsonPropertyName("post_logout_redirect_uris")] List<string>? PostLogoutRedirectUris,
    [property: JsonPropertyName("grant_types")] List<string>? GrantTypes,
    [property: JsonPropertyName("response_types")] List<string>? ResponseTypes,
    [property: JsonPropertyName("scope")] string? Scope,
    [property: JsonPropertyName("token_endpoint_auth_method")] string? TokenEndpointAuthMethod,
    [property: JsonPropertyName("client_id")] string? ClientId = null,
    [property: JsonPropertyName("policy_uri")] string? PolicyUri = null,
    [property: JsonPropertyName("tos_uri")] string? TosUri = null,
    [property: JsonPropertyName("logo_uri")] string? LogoUri = null);

/// <summary>RFC 7591 §3.2.1 client information response (the secret only at creation).</summary>
internal sealed record ClientResponse(
    [property: JsonPropertyName("client_id")] string ClientId,
    [property: JsonPropertyName("client_name")] string? ClientName,
    [property: JsonPropertyName("redirect_uris")] IReadOnlyList<string> RedirectUris,
    [property: JsonPropertyName("post_logout_redirect_uris")] IReadOnlyList<string> PostLogoutRedirectUris,
    [property: JsonPropertyName("grant_types")] IReadOnlyList<string> GrantTypes,
    [property: JsonPropertyName("response_types")] IReadOnlyList<string> ResponseTypes,
    [property: JsonPropertyName("scope")] string Scope,
    [property: JsonPropertyName("token_endpoint_auth_method")] string TokenEndpointAuthMethod)
{
    [JsonPropertyName("client_secret"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ClientSecret { get; init; }

    [JsonPropertyName("policy_uri"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? PolicyUri { get; init; }

    [JsonPropertyName("tos_uri"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TosUri { get; init; }

    [JsonPropertyName("logo_uri"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? LogoUri { get; init; }

    [JsonPropertyName("client_id_issued_at"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? ClientIdIssuedAt { get; init; }

    [JsonPropertyName("client_secret_expires_at"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? ClientSecretExpiresAt { get; init; }
}

internal sealed record ClientPage(
    [property: JsonPropertyName("clients")] IReadOnlyList<ClientResponse> Clients,
    [property: JsonPropertyName("offset")] int Offset,
    [property: JsonPropertyName("limit")] int Limit,
    [property: JsonPropertyName("total")] long Total);

internal sealed record SecretRotation([property: JsonPropertyName("grace_period_seconds")] long? GracePeriodSeconds);

internal sealed record SecretResponse(
    [property: JsonPropertyName("client_id")] string ClientId,
    [property: JsonPropertyName("client_secret")] string ClientSecret,
    [property: JsonPropertyName("client_secret_expires_at")] long ClientSecretExpiresAt);
