using AuthServer.Core;
using AuthServer.Data;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.OAuth;

/// <summary>The OAuth 2.0 / OpenID Connect server (OpenIddict) and the validation of the tokens it issues.</summary>
internal static class OAuthServerExtensions
{
    public const string AuthorizePath = "/oauth/authorize";
    public const string TokenPath = "/oauth/token";
    public const string UserInfoPath = "/oauth/userinfo";
    public const string LogoutPath = "/oauth/logout";
    public const string IntrospectionPath = "/oauth/introspect";
    public const string RevocationPath = "/oauth/revoke";

    /// <summary>The scopes this server knows. A client may only ask for the ones it was registered with.</summary>
    public static readonly IReadOnlyList<string> SupportedScopes =
        [Scopes.OpenId, Scopes.Profile, Scopes.Email, Scopes.OfflineAccess, PlatformScopes.Read, PlatformScopes.Write, PlatformScopes.Admin];

    public static IServiceCollection AddOAuth(
        this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        services.AddOptions<OAuthOptions>()
            .BindConfiguration(OAuthOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate<IHostEnvironment>(
                (options, host) => host.IsDevelopment() || options.Issuer is not null,
                $"{OAuthOptions.SectionName}:Issuer is required outside Development (for example https://auth.example.com/): "
                + "without it the issuer would be taken from each request's Host header.")
            .ValidateOnStart();

        // Outside Development only the issuer's host is served (unless AllowedHosts names hosts itself): a request
        // for another host never reaches the OAuth endpoints.
        services.AddOptions<HostFilteringOptions>().PostConfigure<IOptions<OAuthOptions>, IHostEnvironment>((hosts, oauth, host) =>
        {
            if (host.IsDevelopment() || oauth.Value.Issuer is not { } issuer)
            {
                return;
            }

            var allowed = hosts.AllowedHosts.Where(name => name != "*").ToList();
            allowed.Add(issuer.IdnHost);
            hosts.AllowedHosts = [.. allowed.Distinct(StringComparer.OrdinalIgnoreCase)];
        });

        services.TryAddSingleton(TimeProvider.System);

        services.AddKeyRing(configuration, environment);
        services.AddSingleton<AccessTokenStatus>();
        services.AddScoped<TokenFamilies>();
        services.AddScoped<RefreshTokenReuse>();
        services.AddSingleton<EntityCache>();
        services.AddScoped<TokenWriteBatch>();
        services.AddSingleton<TokenGroupCommit>();
        services.AddSingleton<IntrospectionCache>();
        services.AddSingleton<OAuthChangeSignal>();
        services.AddSingleton<IInterceptor>(provider => provider.GetRequiredService<OAuthChangeSignal>());
        services.AddOpenIddict()
            // Applications, authorizations, scopes and tokens are stored with EF Core in the one AuthDbContext.
            .AddCore(options =>
            {
                options.UseEntityFrameworkCore().UseDbContext<AuthDbContext>();

                // Generated client secrets are hashed with SHA-256, and a rotated secret has a grace period.
                options.ReplaceApplicationManager<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreApplication, AuthServer.Clients.ClientApplicationManager>();

                // Clients and scopes are read on every token request and change rarely: they are cached node-wide.
                options.ReplaceScopeManager<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreScope, CachedScopeManager>();

                // Redemptions are one conditional write, and revocations reach the server's own token checks.
                options.ReplaceTokenManager<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreToken, TokenManager>();
                options.ReplaceAuthorizationManager<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreAuthorization, AuthorizationManager>();

                // New tokens are linked to their client and authorization by key, without loading either.
                options.ReplaceTokenStore<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreToken, TokenStore>(ServiceLifetime.Scoped);

                // A person's earlier consents to a client are looked up with a compiled query.
                options.ReplaceAuthorizationStore<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreAuthorization, AuthorizationStore>(ServiceLifetime.Scoped);
            })

            .AddServer(options =>
            {
                // The endpoints are part of the contract; discovery answers on both well-known paths, and announces
                // the first.
                options.SetAuthorizationEndpointUris(AuthorizePath)
                    .SetTokenEndpointUris(TokenPath)
                    .SetUserInfoEndpointUris(UserInfoPath)
                    .SetEndSessionEndpointUris(LogoutPath)
                    .SetIntrospectionEndpointUris(IntrospectionPath)
                    .SetRevocationEndpointUris(RevocationPath)
                    .SetConfigurationEndpointUris(".well-known/openid-configuration", ".well-known/oauth-authorization-server")
                    .SetJsonWebKeySetEndpointUris(".well-known/jwks");

                // The code flow (with PKCE, for every client), refresh tokens, and client credentials for services:
                // no implicit, no password grant.
                options.AllowAuthorizationCodeFlow()
                    .AllowRefreshTokenFlow()
                    .AllowClientCredentialsFlow()
                    .RequireProofKeyForCodeExchange();

                options.RegisterScopes([.. SupportedScopes]);

                // Validation errors of a request whose client and redirect URI check out go back to the client.
                options.AddEventHandler(RedirectValidationErrors.Descriptor);
                options.AddEventHandler(ScopeErrorCodes.TokenDescriptor);
                options.AddEventHandler(ScopeErrorCodes.AuthorizationDescriptor);
                options.AddEventHandler(ScopeErrorCodes.RejectAdminScope.Descriptor);
                foreach (var descriptor in ClientAuthenticationFailures.Descriptors)
                {
                    options.AddEventHandler(descriptor);
                }
                options.AddEventHandler(RevokeRefreshTokenFamily.Descriptor);

                // A replayed code or refresh token, or a redemption that loses a race, ends its whole grant.
                options.AddEventHandler(RejectReplayedTokens.Descriptor);
                options.RemoveEventHandler(RedeemTokenEntryOnce.Replaced);
                options.AddEventHandler(RedeemTokenEntryOnce.Descriptor);

                // The token rows of a sign-in are written together, once the last token is generated.
                options.AddEventHandler(TokenWriteBatch.Begin.Descriptor);
                options.AddEventHandler(TokenWriteBatch.Flush.Descriptor);

                // Access tokens are plain signed JWTs (RFC 9068, typ at+jwt) so that resource servers can validate
                // them with the JWKS alone; codes and refresh tokens stay encrypted.
                options.DisableAccessTokenEncryption();

                var aspNetCore = options.UseAspNetCore()
                    .EnableAuthorizationEndpointPassthrough()
                    .EnableTokenEndpointPassthrough()
                    .EnableUserInfoEndpointPassthrough()
                    .EnableEndSessionEndpointPassthrough()
                    .EnableStatusCodePagesIntegration()
                    .SuppressJsonResponseIndentation();

                // client_credentials tokens are issued by an event handler, the plain requests before OpenIddict's
                // token pipeline; the other grants pass through to the controller.
                options.AddEventHandler(ClientCredentialsFastPath.Descriptor);
                options.AddEventHandler(ClientCredentialsGrant.Descriptor);
                options.RemoveEventHandler(ClientCredentialsGrant.PassOtherGrantsThrough.Replaced);
                options.AddEventHandler(ClientCredentialsGrant.PassOtherGrantsThrough.Descriptor);

                // HTTPS is enforced by our transport middleware in Development (plain HTTP from loopback only) and
                // by OpenIddict itself everywhere else.
                if (environment.IsDevelopment())
                {
                    aspNetCore.DisableTransportSecurityRequirement();
                }
            })

            // Note: the platform API checks its access tokens with AccessTokenValidator, not with this stack. It stays
            // registered because removing it measured slower, not faster, on the token endpoint (two alternating A/B
            // pairs, about 20%); why is not understood yet.
            .AddValidation(options =>
            {
                options.UseLocalServer();
                options.UseAspNetCore();
            });

        // OpenIddict's events are dispatched from a per-event index of their handlers.
        services.Replace(ServiceDescriptor.Scoped<IOpenIddictServerDispatcher, IndexedServerDispatcher>());

        // Options from configuration (lifetimes, issuer, audience) and the keys from the database.
        services.AddSingleton<IConfigureOptions<OpenIddictServerOptions>, ServerKeyConfigurator>();
        services.AddOptions<OpenIddictServerOptions>().Configure<IOptions<OAuthOptions>, TimeProvider>((server, oauth, clock) =>
        {
            var settings = oauth.Value;
            server.Issuer = settings.Issuer;
            server.AuthorizationCodeLifetime = settings.AuthorizationCodeLifetime;
            server.AccessTokenLifetime = settings.AccessTokenLifetime;
            server.IdentityTokenLifetime = settings.IdentityTokenLifetime;
            server.RefreshTokenLifetime = settings.RefreshTokenLifetime;
            server.RefreshTokenReuseLeeway = settings.RefreshTokenReuseLeeway;
            server.TimeProvider = clock;

            // RFC 9700 §2.1.1: only S256. The plain method protects nothing once the challenge leaks.
            server.CodeChallengeMethods.Remove(CodeChallengeMethods.Plain);

            // Clients authenticate with a secret (basic or post), or not at all (public clients): no client can
            // register keys, so private_key_jwt is not offered.
            server.ClientAuthenticationMethods.Remove(ClientAuthenticationMethods.PrivateKeyJwt);
        });
        services.AddOptions<OpenIddict.Validation.OpenIddictValidationOptions>()
            .Configure<IOptions<OAuthOptions>, TimeProvider>((validation, oauth, clock) =>
            {
                validation.Audiences.Add(oauth.Value.Audience);
                validation.TimeProvider = clock;
            });

        services.AddRequestLimits();
        return services;
    }

    /// <summary>Goes before authentication, where OpenIddict answers: repeated introspections are answered from memory.</summary>
    public static IApplicationBuilder UseIntrospectionCache(this IApplicationBuilder app) => IntrospectionCache.Use(app);

    /// <summary>
    /// Errors OpenIddict cannot send back to the client (unknown client, unregistered redirect URI) end as a bare
    /// 400; the status code pages middleware re-executes them on <c>/error/400</c>, which renders them on the server.
    /// Redirecting them would make the server an open redirector.
    /// </summary>
    public static IApplicationBuilder UseOAuthErrorPages(this IApplicationBuilder app) =>
        app.UseWhen(context => IsInteractive(context.Request.Path), branch => branch.UseStatusCodePagesWithReExecute("/error/{0}"));

    /// <summary>
    /// A database failure on a back-channel OAuth endpoint (token, introspection, revocation, userinfo) is answered
    /// 503 <c>temporarily_unavailable</c> with <c>Retry-After</c>, not a bare 500: the client learns to retry, and
    /// nothing was issued (a token is returned only once its row is written).
    /// </summary>
    public static IApplicationBuilder UseOAuthFaults(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("AuthServer.OAuth.Faults");
        return app.UseWhen(
            context => context.Request.Path.StartsWithSegments("/oauth", StringComparison.OrdinalIgnoreCase) && !IsInteractive(context.Request.Path),
            branch => branch.Use(async (context, next) =>
            {
                try
                {
                    await next(context);
                }
                catch (Exception exception) when (DatabaseFailures.IsDatabaseFailure(exception) && !context.Response.HasStarted)
                {
                    logger.LogError(exception, "The database failed while serving {Path}; answered 503.", context.Request.Path.Value);
                    context.Response.Clear();
                    context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                    context.Response.Headers.RetryAfter = "5";
                    context.Response.Headers.CacheControl = "no-store";
                    await context.Response.WriteAsJsonAsync(new Dictionary<string, string>
                    {
                        [Parameters.Error] = Errors.TemporarilyUnavailable,
                        [Parameters.ErrorDescription] = "The server could not reach its database; retry shortly.",
                    });
                }
            }));
    }

    /// <summary>Pages a person looks at, as opposed to APIs whose status codes and headers are the answer.</summary>
    private static bool IsInteractive(PathString path) =>
        path.StartsWithSegments(AuthorizePath, StringComparison.OrdinalIgnoreCase)
        || path.StartsWithSegments(LogoutPath, StringComparison.OrdinalIgnoreCase)
        || !(path.StartsWithSegments("/oauth", StringComparison.OrdinalIgnoreCase)
            || path.StartsWithSegments("/v1", StringComparison.OrdinalIgnoreCase)
            || path.StartsWithSegments("/admin", StringComparison.OrdinalIgnoreCase)
            || path.StartsWithSegments("/.well-known", StringComparison.OrdinalIgnoreCase));

    public static IEndpointRouteBuilder MapOAuthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapControllers();
        return endpoints;
    }

    /// <summary>Resolves the server options once at start-up, so keys are loaded (or generated) before the first
    /// request and a problem with them stops the host instead of failing requests.</summary>
    public static Task LoadServerKeysAsync(this WebApplication app)
    {
        // The key ring's protection is checked first: no key is generated, and so stored, unprotected.
        _ = app.Services.GetRequiredService<IOptions<KeyRingOptions>>().Value;
        _ = app.Services.GetRequiredService<IOptions<OAuthOptions>>().Value;
        _ = app.Services.GetRequiredService<IOptionsMonitor<OpenIddictServerOptions>>().CurrentValue;
        _ = app.Services.GetRequiredService<IOptionsMonitor<OpenIddict.Validation.OpenIddictValidationOptions>>().CurrentValue;
        return Task.CompletedTask;
    }
}

/// <summary>The scopes of the platform API.</summary>
public static class PlatformScopes
{
    public const string Read = "read";
    public const string Write = "write";

    /// <summary>The admin API; granted only to clients registered as admin clients.</summary>
    public const string Admin = "admin";
}
