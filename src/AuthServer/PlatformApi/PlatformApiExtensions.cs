using System.Security.Claims;
using System.Text.Json.Serialization;
using AuthServer.Data;
using AuthServer.OAuth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
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
        return services;
    }

    public static IEndpointRouteBuilder MapPlatformApi(this IEndpointRouteBuilder endpoints)
    {
        var v1 = endpoints.MapGroup("/v1").WithTags("Platform API");

        v1.MapGet("/user/profile", GetProfileAsync).RequireScopes(PlatformScopes.Read, Scopes.Profile);

        return endpoints;
    }

    /// <summary>The caller's own account: <c>id</c>, <c>email</c>, <c>name</c>.</summary>
    private static async Task<Results<Ok<UserProfile>, PlatformErrorResult>> GetProfileAsync(
        ClaimsPrincipal principal, UserManager<ApplicationUser> users)
    {
        var user = principal.GetClaim(Claims.Subject) is { } subject ? await users.FindByIdAsync(subject) : null;
        if (user is null)
        {
            return new PlatformErrorResult(
                StatusCodes.Status401Unauthorized, PlatformErrors.InvalidToken, "The account behind this token no longer exists.");
        }

        return TypedResults.Ok(new UserProfile(user.Id, user.Email, user.DisplayName ?? user.UserName));
    }

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

internal sealed record UserProfile(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("email")] string? Email,
    [property: JsonPropertyName("name")] string? Name);
