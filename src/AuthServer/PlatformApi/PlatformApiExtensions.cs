using System.Security.Claims;
using System.Text.Json.Serialization;
using AuthServer.OAuth;
using AuthServer.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.PlatformApi;

/// <summary>The platform's own resource API under <c>/v1</c>.</summary>
internal static class PlatformApiExtensions
{
    public static IServiceCollection AddPlatformApi(this IServiceCollection services)
    {
        services.AddAuthentication()
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, PlatformBearerHandler>(
                PlatformBearerHandler.SchemeName, configureOptions: null);
        services.AddAuthorization();

        services.AddOptions<ModelCatalogOptions>()
            .BindConfiguration(ModelCatalogOptions.SectionName)
            .Validate(
                catalog => catalog.Models.All(model =>
                    model.Id.Length is > 0 and <= 100 && model.OwnedBy.Length is > 0 and <= 100 && model.Created >= 0),
                $"{ModelCatalogOptions.SectionName}:Models entries need an Id, an OwnedBy and a Created time (Unix seconds).")
            .Validate(
                catalog => catalog.Models.Select(model => model.Id).Distinct(StringComparer.Ordinal).Count() == catalog.Models.Count,
                $"{ModelCatalogOptions.SectionName}:Models has the same Id twice.")
            .ValidateOnStart();
        services.AddSingleton<ModelList>();
        services.AddSingleton<AccessTokenValidator>();
        return services;
    }

    public static IEndpointRouteBuilder MapPlatformApi(this IEndpointRouteBuilder endpoints)
    {
        var v1 = endpoints.MapGroup("/v1").WithTags("Platform API");

        v1.MapGet("/models", (ModelList models) => TypedResults.Bytes(models.Json, "application/json; charset=utf-8"))
            .RequireScopes(PlatformScopes.Read);
        v1.MapGet("/user/profile", GetProfileAsync).RequireScopes(PlatformScopes.Read, Scopes.Profile);

        return endpoints;
    }

    /// <summary>The caller's own account: <c>id</c>, <c>email</c>, <c>name</c> (for an API key, its owner's).</summary>
    private static async Task<Results<Ok<UserProfile>, PlatformErrorResult>> GetProfileAsync(
        ClaimsPrincipal principal, PayerResolver accounts, CancellationToken cancellationToken)
    {
        // Remembered with the account's tier (RateLimits:PayerCacheDuration): no database read per call.
        var profile = principal.GetClaim(Claims.Subject) is { } subject ? await accounts.ProfileAsync(subject, cancellationToken) : null;
        if (profile is null)
        {
            return new PlatformErrorResult(
                StatusCodes.Status401Unauthorized, PlatformErrors.InvalidToken, "The account behind this credential no longer exists.");
        }

        return TypedResults.Ok(profile);
    }

    /// <summary>Whether a request is for the platform API (<c>/v1</c>).</summary>
    public static bool IsPlatformApi(PathString path) => path.StartsWithSegments("/v1", StringComparison.OrdinalIgnoreCase);

    /// <summary>Requires a bearer credential of the platform scheme carrying any one of <paramref name="anyOf"/>.</summary>
    public static RouteHandlerBuilder RequireScopes(this RouteHandlerBuilder builder, params string[] anyOf)
    {
        builder.WithMetadata(new RequiredScopes(anyOf));
        return builder.RequireAuthorization(policy => policy
            .AddAuthenticationSchemes(PlatformBearerHandler.SchemeName)
            .RequireAuthenticatedUser()
            .RequireAssertion(context => anyOf.Any(context.User.HasScope)));
    }
}

/// <summary>The catalogue in the list shape clients of model APIs expect, built and serialized once from configuration.</summary>
internal sealed class ModelList(IOptions<ModelCatalogOptions> catalog)
{
    public ModelListResponse Response { get; } = new(
        "list",
        [.. catalog.Value.Models.Select(model => new ModelResponse(model.Id, "model", model.Created, model.OwnedBy))]);

    /// <summary>The response body, serialized once: the catalogue only changes with the configuration.</summary>
    public byte[] Json => _json ??= System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(Response, PlatformJsonContext.Default.ModelListResponse);

    private byte[]? _json;
}

internal sealed record ModelListResponse(
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("data")] IReadOnlyList<ModelResponse> Data);

internal sealed record ModelResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("owned_by")] string OwnedBy);

internal sealed record UserProfile(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("email")] string? Email,
    [property: JsonPropertyName("name")] string? Name);
