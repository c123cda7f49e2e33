using AuthServer.Core;
using AuthServer.Hosting;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.ApiReference;

/// <summary>
/// What the whole document says once: what the API is, how callers authenticate (an API key or an access token on
/// <c>/v1</c>, an admin client's token on <c>/admin</c>), the two error shapes and the headers every answer may carry.
/// </summary>
internal sealed class PlatformDocument : IOpenApiDocumentTransformer
{
    public const string BearerScheme = "bearer";
    public const string UserOAuthScheme = "oauth2";
    public const string AdminOAuthScheme = "adminClientCredentials";
    public const string PlatformError = "PlatformError";
    public const string OAuthError = "OAuthError";
    public const string RateLimitLimit = "X-RateLimit-Limit";
    public const string RateLimitRemaining = "X-RateLimit-Remaining";
    public const string RateLimitReset = "X-RateLimit-Reset";
    public const string RetryAfter = "Retry-After";
    public const string RequestId = TransportExtensions.RequestIdHeader;

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "AuthServer platform and admin API",
            Version = "v1",
            Description = """
                The platform API (`/v1`) is called with an API key made on the dashboard, or with an access token an app
                obtained through the OAuth 2.0 authorization-code flow with PKCE, as `Authorization: Bearer <credential>`.
                Every answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`; a 429 carries
                `Retry-After`. The admin API (`/admin`) is called with the access token of an admin client
                (`client_credentials`, scope `admin`), or by an admin signed in on the server's pages.
                """,
        };

        var components = document.Components ??= new OpenApiComponents();
        components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An API key from the dashboard, or an OAuth access token.",
        };
        components.SecuritySchemes[UserOAuthScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.OAuth2,
            Description = "The authorization-code flow; PKCE (S256) is required of every client.",
            Flows = new OpenApiOAuthFlows
            {
                AuthorizationCode = new OpenApiOAuthFlow
                {
                    AuthorizationUrl = new Uri(Routes.Authorize, UriKind.Relative),
                    TokenUrl = new Uri(Routes.Token, UriKind.Relative),
                    RefreshUrl = new Uri(Routes.Token, UriKind.Relative),
                    Scopes = new Dictionary<string, string>
                    {
                        [PlatformScopes.Read] = "Read the platform's resources (models, the profile).",
                        [PlatformScopes.Write] = "Change the platform's resources.",
                        [Scopes.OpenId] = "Sign in with OpenID Connect (an ID token).",
                        [Scopes.Profile] = "The person's name.",
                        [Scopes.Email] = "The person's email address.",
                        [Scopes.OfflineAccess] = "A refresh token.",
                    },
                },
            },
        };
        components.SecuritySchemes[AdminOAuthScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.OAuth2,
            Description = "An admin client's token (client_credentials, scope admin).",
            Flows = new OpenApiOAuthFlows
            {
                ClientCredentials = new OpenApiOAuthFlow
                {
                    TokenUrl = new Uri(Routes.Token, UriKind.Relative),
                    Scopes = new Dictionary<string, string> { [PlatformScopes.Admin] = "Manage clients, scopes, keys, tiers; read usage and audit." },
                },
            },
        };

        components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        components.Schemas[PlatformError] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "An error of the platform API.",
            Required = new HashSet<string> { "error" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["error"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Required = new HashSet<string> { "type", "message" },
                    Properties = new Dictionary<string, IOpenApiSchema>
                    {
                        ["type"] = new OpenApiSchema
                        {
                            Type = JsonSchemaType.String,
                            Description = "invalid_token, insufficient_scope, rate_limit_exceeded, service_unavailable, not_found or method_not_allowed.",
                        },
                        ["message"] = new OpenApiSchema { Type = JsonSchemaType.String },
                        ["request_id"] = new OpenApiSchema
                        {
                            Type = JsonSchemaType.String,
                            Description = "The request's id, as in the X-Request-Id header: quote it to an operator.",
                        },
                    },
                },
            },
        };
        components.Schemas[OAuthError] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "An error of the admin API and the OAuth endpoints (RFC 6749 §5.2).",
            Required = new HashSet<string> { "error" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["error"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["error_description"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["request_id"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The request's id, as in the X-Request-Id header." },
            },
        };

        components.Headers ??= new Dictionary<string, IOpenApiHeader>();
        components.Headers[RateLimitLimit] = Header("Requests allowed per minute for the paying account.", JsonSchemaType.Integer);
        components.Headers[RateLimitRemaining] = Header("Requests left in the current minute.", JsonSchemaType.Integer);
        components.Headers[RateLimitReset] = Header("Seconds until the current minute's window resets.", JsonSchemaType.Integer);
        components.Headers[RetryAfter] = Header("Seconds to wait before the next request.", JsonSchemaType.Integer);
        components.Headers[RequestId] = Header("The server's name for this request; quote it to the operator.", JsonSchemaType.String);
        return Task.CompletedTask;
    }

    private static OpenApiHeader Header(string description, JsonSchemaType type) =>
        new() { Description = description, Schema = new OpenApiSchema { Type = type } };
}
