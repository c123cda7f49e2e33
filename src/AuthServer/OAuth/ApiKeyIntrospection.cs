using System.Text.Json.Serialization;
using AuthServer.ApiKeys;
using AuthServer.Core;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.OAuth;

/// <summary>
/// Lets <c>/oauth/introspect</c> (RFC 7662) answer for API keys too, so a resource server makes one call for either
/// kind of credential. A request whose <c>token</c> carries the key prefix is answered here, before OpenIddict (which
/// knows only its own tokens); every other request goes on to OpenIddict untouched. The caller authenticates exactly
/// as OpenIddict requires: a confidential client with its secret and the introspection permission. And, as OpenIddict
/// answers only a token's audiences, only a resource server the key is for learns about it: a client whose client_id
/// is the platform's audience (<c>OAuth:Audience</c>) or a resource of one of the key's scopes. Any other client is
/// told the key is not active (RFC 7662 §2.2).
/// </summary>
internal static class ApiKeyIntrospection
{
    public static IApplicationBuilder UseApiKeyIntrospection(this IApplicationBuilder app) =>
        app.UseWhen(
            context => HttpMethods.IsPost(context.Request.Method)
                && context.Request.Path.Equals(Routes.Introspect, StringComparison.OrdinalIgnoreCase)
                && context.Request.HasFormContentType,
            branch => branch.Use(async (context, next) =>
            {
                var form = await context.Request.ReadFormAsync(context.RequestAborted);
                if (form[Parameters.Token].ToString() is not { } token || !ApiKeyFormat.LooksLikeKey(token))
                {
                    await next(context);
                    return;
                }

                await IntrospectAsync(context, form, token);
            }));

    private static async Task IntrospectAsync(HttpContext context, IFormCollection form, string token)
    {
        context.Response.Headers.CacheControl = "no-store";
        var services = context.RequestServices;
        if (!await IsAuthorizedCallerAsync(context, form, services.GetRequiredService<IOpenIddictApplicationManager>()))
        {
            ClientAuthenticationFailures.Mark(context);
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"AuthServer\"";
            await context.Response.WriteAsJsonAsync(new OAuthError(Errors.InvalidClient, ClientAuthenticationFailures.Description, context.TraceIdentifier));
            return;
        }

        var (result, key) = await services.GetRequiredService<ApiKeyAuthenticator>().CheckAsync(token, context.RequestAborted);
        if (result == ApiKeyCheck.Unavailable)
        {
            await OAuthErrors.WriteUnavailableAsync(context, "Try again shortly.");
            return;
        }

        // Inactive keys all look alike (RFC 7662 §2.2): no hint whether the key was unknown, revoked or expired, nor
        // whether the caller was simply not one the key is for.
        if (result != ApiKeyCheck.Valid || !await IsAudienceAsync(context, services, key!))
        {
            await context.Response.WriteAsJsonAsync(new ApiKeyIntrospectionResponse(Active: false));
            return;
        }

        var issuer = services.GetRequiredService<IOptionsMonitor<OpenIddictServerOptions>>().CurrentValue.Issuer
            ?? new Uri($"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}/");
        await context.Response.WriteAsJsonAsync(new ApiKeyIntrospectionResponse(
            Active: true,
            Scope: string.Join(' ', key!.Scopes),
            Subject: key.OwnerId,
            ExpiresAt: key.ExpiresAt?.ToUnixTimeSeconds(),
            IssuedAt: key.CreatedAt.ToUnixTimeSeconds(),
            TokenType: "api_key",
            Issuer: issuer.AbsoluteUri,
            KeyId: key.Id));
    }

    private static async Task<bool> IsAudienceAsync(HttpContext context, IServiceProvider services, ApiKeyRecord key)
    {
        var caller = ClientCredentials.Read(context.Request, await context.Request.ReadFormAsync(context.RequestAborted))!.Value.ClientId;
        var audiences = await services.GetRequiredService<IOpenIddictScopeManager>().AudiencesAsync(
            services.GetRequiredService<IOptions<OAuthOptions>>().Value.Audience, [.. key.Scopes], context.RequestAborted);
        return audiences.Contains(caller, StringComparer.Ordinal);
    }

    private static async Task<bool> IsAuthorizedCallerAsync(
        HttpContext context, IFormCollection form, IOpenIddictApplicationManager applications)
    {
        if (ClientCredentials.Read(context.Request, form) is not { } credentials
            || await applications.FindByClientIdAsync(credentials.ClientId, context.RequestAborted) is not { } application)
        {
            return false;
        }

        return await applications.HasClientTypeAsync(application, ClientTypes.Confidential, context.RequestAborted)
            && await applications.HasPermissionAsync(application, Permissions.Endpoints.Introspection, context.RequestAborted)
            && await applications.ValidateClientSecretAsync(application, credentials.Secret, context.RequestAborted);
    }
}

internal sealed record ApiKeyIntrospectionResponse(
    [property: JsonPropertyName("active")] bool Active,
    [property: JsonPropertyName("scope"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Scope = null,
    [property: JsonPropertyName("sub"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Subject = null,
    [property: JsonPropertyName("exp"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? ExpiresAt = null,
    [property: JsonPropertyName("iat"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? IssuedAt = null,
    [property: JsonPropertyName("token_type"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? TokenType = null,
    [property: JsonPropertyName("iss"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Issuer = null,
    [property: JsonPropertyName("key_id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? KeyId = null);
