using System.Text.Json.Serialization;
using AuthServer.Core;
using AuthServer.RateLimiting;
using Microsoft.Extensions.Options;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.PlatformApi;

/// <summary>The platform's own resource API under <c>/v1</c>.</summary>
internal static class PlatformApiExtensions
{
    public static IHostApplicationBuilder AddPlatformApi(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        // The admin API's bearer callers authenticate through this scheme; /v1 reads its credential in its own gate.
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
        services.AddSingleton<PlatformCredentials>();
        return builder;
    }

    /// <summary>
    /// The <c>/v1</c> endpoints. They run behind the platform gate (<see cref="PlatformGate"/>), which has already
    /// authenticated the caller, charged the call to its payer and checked the endpoint's <see cref="RequiredScopes"/>;
    /// they write their answers themselves. Each is given as a <see cref="Delegate"/> (not a
    /// <see cref="RequestDelegate"/>) only so that the OpenAPI document describes it; it takes nothing to bind.
    /// </summary>
    public static IEndpointRouteBuilder MapPlatformApi(this IEndpointRouteBuilder endpoints)
    {
        var v1 = endpoints.MapGroup(Routes.PlatformApi).WithTags("Platform API");
        var models = endpoints.ServiceProvider.GetRequiredService<ModelList>();

        v1.MapGet("/models", (Delegate)((HttpContext context) =>
        {
            context.Response.ContentType = JsonContentType;
            context.Response.ContentLength = models.Json.Length;
            return context.Response.Body.WriteAsync(models.Json, context.RequestAborted).AsTask();
        }))
            .RequireScopes(PlatformScopes.Read)
            .WithName("listModels")
            .WithSummary("The models the platform serves")
            .Produces<ModelListResponse>(StatusCodes.Status200OK, "application/json");
        var accounts = endpoints.ServiceProvider.GetRequiredService<PayerResolver>();
        v1.MapGet("/user/profile", (Delegate)((HttpContext context) => GetProfileAsync(context, accounts)))
            .RequireScopes(PlatformScopes.Read, Scopes.Profile)
            .WithName("getUserProfile")
            .WithSummary("The account the credential belongs to (an API key's owner, an access token's person)")
            .Produces<UserProfile>(StatusCodes.Status200OK, "application/json");

        return endpoints;
    }

    private const string JsonContentType = "application/json; charset=utf-8";

    /// <summary>The caller's own account: <c>id</c>, <c>email</c>, <c>name</c> (for an API key, its owner's).</summary>
    private static async Task GetProfileAsync(HttpContext context, PayerResolver accounts)
    {
        // Remembered with the account's tier (Caching:Payers): no database read per call.
        var profile = context.Features.Get<PlatformCaller>()?.Subject is { } subject
            ? await accounts.ProfileAsync(subject, context.RequestAborted)
            : null;
        if (profile is null)
        {
            await PlatformErrors.WriteAsync(
                context, StatusCodes.Status401Unauthorized, PlatformErrors.InvalidToken, "The account behind this credential no longer exists.");
            return;
        }

        await context.Response.WriteAsJsonAsync(
            new UserProfile(profile.Id, profile.Email, profile.Name), PlatformJsonContext.Relaxed.UserProfile, JsonContentType, context.RequestAborted);
    }

    /// <summary>
    /// The pipeline of <c>/v1</c> requests, a branch of the application's: routing over the <c>/v1</c> endpoints
    /// (a branch has its own route table), the gate, which reads the endpoint's <see cref="RequiredScopes"/> (every
    /// <c>/v1</c> call passes it), then the endpoint.
    /// </summary>
    public static IApplicationBuilder UsePlatformApi(this IApplicationBuilder api)
    {
        api.UseRouting().UseMiddleware<PlatformGate>().UseEndpoints(endpoints => endpoints.MapPlatformApi());

        // No endpoint matched: the API's error shape, not an empty 404.
        api.Run(context => PlatformErrors.WriteAsync(
            context, StatusCodes.Status404NotFound, PlatformErrors.NotFound, $"There is no endpoint {context.Request.Method} {context.Request.Path}."));
        return api;
    }

    /// <summary>Whether a request is for the platform API (<c>/v1</c>).</summary>
    public static bool IsPlatformApi(PathString path) => Routes.IsUnder(path, Routes.PlatformApi);

    /// <summary>
    /// Requires a platform credential carrying any one of <paramref name="anyOf"/>; the gate in front of <c>/v1</c>
    /// enforces it (401 without a valid credential, 403 without the scope).
    /// </summary>
    public static TBuilder RequireScopes<TBuilder>(this TBuilder builder, params string[] anyOf)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequiredScopes(anyOf));
}

/// <summary>
/// The catalogue in the list shape clients of model APIs expect, serialized once from configuration (it changes only
/// with the configuration, and the endpoint writes these bytes as they are).
/// </summary>
internal sealed class ModelList(IOptions<ModelCatalogOptions> catalog)
{
    public ReadOnlyMemory<byte> Json { get; } = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
        new ModelListResponse("list", [.. catalog.Value.Models.Select(model => new ModelResponse(model.Id, "model", model.Created, model.OwnedBy))]),
        PlatformJsonContext.Relaxed.ModelListResponse);
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
