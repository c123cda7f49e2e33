using System.Text.Json.Serialization;
using AuthServer.Audit;
using AuthServer.Core;
using AuthServer.OAuth;
using Microsoft.AspNetCore.Http.HttpResults;
using OpenIddict.Abstractions;

namespace AuthServer.Admin;

/// <summary>
/// <c>/admin/scopes</c>: scopes beyond the built-in ones, each with a display name, a description and the resources
/// (audiences) a token carrying it is meant for. Clients can then be registered with them.
/// </summary>
internal static class ScopesAdminApi
{
    public static RouteGroupBuilder MapScopesAdmin(this RouteGroupBuilder admin)
    {
        var scopes = admin.MapGroup("/scopes");
        scopes.MapPost("/", CreateAsync);
        scopes.MapGet("/", ListAsync);
        scopes.MapGet("/{name}", GetAsync);
        scopes.MapPut("/{name}", UpdateAsync);
        scopes.MapDelete("/{name}", DeleteAsync);
        return admin;
    }

    private static async Task<Results<Created<ScopeResponse>, BadRequest<AdminError>>> CreateAsync(
        ScopeRequest request, IOpenIddictScopeManager scopes, AuditLog audit, HttpContext context, CancellationToken cancellationToken)
    {
        if (Validate(request, creating: true) is { } error)
        {
            return TypedResults.BadRequest(error);
        }

        if (await scopes.FindByNameAsync(request.Name!, cancellationToken) is not null)
        {
            return TypedResults.BadRequest(new AdminError("invalid_request", $"The scope '{request.Name}' exists."));
        }

        var descriptor = new OpenIddictScopeDescriptor { Name = request.Name };
        Apply(descriptor, request);
        await scopes.CreateAsync(descriptor, cancellationToken);
        await audit.WriteAsync(AdminExtensions.Actor(context), "scope.created", request.Name, null, request, cancellationToken);
        return TypedResults.Created($"{Routes.Admin}/scopes/{request.Name}", Describe(descriptor));
    }

    private static async Task<Ok<List<ScopeResponse>>> ListAsync(IOpenIddictScopeManager scopes, CancellationToken cancellationToken)
    {
        var list = new List<ScopeResponse>();
        await foreach (var scope in scopes.ListAsync(count: null, offset: null, cancellationToken))
        {
            var descriptor = new OpenIddictScopeDescriptor();
            await scopes.PopulateAsync(descriptor, scope, cancellationToken);
            list.Add(Describe(descriptor));
        }

        return TypedResults.Ok(list);
    }

    private static async Task<Results<Ok<ScopeResponse>, NotFound<AdminError>>> GetAsync(
        string name, IOpenIddictScopeManager scopes, CancellationToken cancellationToken)
    {
        if (await scopes.FindByNameAsync(name, cancellationToken) is not { } scope)
        {
            return TypedResults.NotFound(NotFound(name));
        }

        var descriptor = new OpenIddictScopeDescriptor();
        await scopes.PopulateAsync(descriptor, scope, cancellationToken);
        return TypedResults.Ok(Describe(descriptor));
    }

    private static async Task<Results<Ok<ScopeResponse>, BadRequest<AdminError>, NotFound<AdminError>>> UpdateAsync(
        string name, ScopeRequest request, IOpenIddictScopeManager scopes, AuditLog audit, HttpContext context,
        CancellationToken cancellationToken)
    {
        if (await scopes.FindByNameAsync(name, cancellationToken) is not { } scope)
        {
            return TypedResults.NotFound(NotFound(name));
        }

        if (Validate(request, creating: false) is { } error)
        {
            return TypedResults.BadRequest(error);
        }

        var descriptor = new OpenIddictScopeDescriptor();
        await scopes.PopulateAsync(descriptor, scope, cancellationToken);
        Apply(descriptor, request);
        await scopes.UpdateAsync(scope, descriptor, cancellationToken);
        await audit.WriteAsync(AdminExtensions.Actor(context), "scope.updated", name, null, request, cancellationToken);
        return TypedResults.Ok(Describe(descriptor));
    }

    private static async Task<Results<NoContent, NotFound<AdminError>>> DeleteAsync(
        string name, IOpenIddictScopeManager scopes, AuditLog audit, HttpContext context, CancellationToken cancellationToken)
    {
        if (await scopes.FindByNameAsync(name, cancellationToken) is not { } scope)
        {
            return TypedResults.NotFound(NotFound(name));
        }

        // Clients that still list the scope can no longer obtain it: OpenIddict refuses unknown scopes.
        await scopes.DeleteAsync(scope, cancellationToken);
        await audit.WriteAsync(AdminExtensions.Actor(context), "scope.deleted", name, null, null, cancellationToken);
        return TypedResults.NoContent();
    }

    private static AdminError? Validate(ScopeRequest request, bool creating)
    {
        if (creating && (string.IsNullOrEmpty(request.Name) || request.Name.Length > 100
            || !request.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':' or '/')))
        {
            return new AdminError("invalid_request", "name is 1 to 100 letters, digits, '.', '_', '-', ':' or '/'.");
        }

        if (creating && OAuthServerExtensions.SupportedScopes.Contains(request.Name))
        {
            return new AdminError("invalid_request", $"'{request.Name}' is a built-in scope.");
        }

        if ((request.Resources ?? []).Any(resource => string.IsNullOrWhiteSpace(resource) || resource.Length > 200))
        {
            return new AdminError("invalid_request", "Each resource (audience) is a non-empty string of at most 200 characters.");
        }

        return request.DisplayName?.Length > 200 || request.Description?.Length > 1000
            ? new AdminError("invalid_request", "display_name is at most 200 characters, description at most 1000.")
            : null;
    }

    private static void Apply(OpenIddictScopeDescriptor descriptor, ScopeRequest request)
    {
        descriptor.DisplayName = request.DisplayName;
        descriptor.Description = request.Description;
        descriptor.Resources.Clear();
        descriptor.Resources.UnionWith(request.Resources ?? []);
    }

    private static ScopeResponse Describe(OpenIddictScopeDescriptor descriptor) =>
        new(descriptor.Name!, descriptor.DisplayName, descriptor.Description, [.. descriptor.Resources.Order(StringComparer.Ordinal)]);

    private static AdminError NotFound(string name) => new("not_found", $"No scope '{name}'.");
}

internal sealed record ScopeRequest(
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("display_name")] string? DisplayName,
    [property: JsonPropertyName("description")] string? Description,
    [property: JsonPropertyName("resources")] List<string>? Resources);

internal sealed record ScopeResponse(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("display_name")] string? DisplayName,
    [property: JsonPropertyName("description")] string? Description,
    [property: JsonPropertyName("resources")] IReadOnlyList<string> Resources);
