using AuthServer.Core;
using AuthServer.Data;
using AuthServer.OAuth.Acceleration;
using AuthServer.OAuth.Keys;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenIddict.EntityFrameworkCore.Models;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.OAuth;

/// <summary>The OAuth 2.0 / OpenID Connect server: OpenIddict, configured as its samples are, and what we change.</summary>
internal static class OAuthServerExtensions
{
    /// <summary>The scopes this server knows. A client may only ask for the ones it was registered with.</summary>
    public static readonly IReadOnlyList<string> SupportedScopes =
        [Scopes.OpenId, Scopes.Profile, Scopes.Email, Scopes.OfflineAccess, PlatformScopes.Read, PlatformScopes.Write, PlatformScopes.Admin];

    public static IHostApplicationBuilder AddOAuth(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
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
        services.AddKeyRing(builder.Configuration, builder.Environment);
        services.AddSingleton<AccessTokenStatus>();
        services.AddScoped<TokenFamilies>();
        services.AddScoped<RefreshTokenReuse>();

        services.AddOpenIddict()
            // Applications, authorizations, scopes and tokens are stored with EF Core in the one AuthDbContext.
            .AddCore(options =>
            {
                options.UseEntityFrameworkCore().UseDbContext<AuthDbContext>();

                // Generated client secrets are hashed with SHA-256, and a rotated secret has a grace period.
                options.ReplaceApplicationManager<OpenIddictEntityFrameworkCoreApplication, ClientApplicationManager>();

                // A redemption is one conditional write, and revocations reach the server's own token checks.
                options.ReplaceTokenManager<OpenIddictEntityFrameworkCoreToken, TokenManager>();
                options.ReplaceAuthorizationManager<OpenIddictEntityFrameworkCoreAuthorization, AuthorizationManager>();
            })

            .AddServer(options =>
            {
                // The endpoints are part of the contract; discovery answers on both well-known paths, and announces
                // the first.
                options.SetAuthorizationEndpointUris(Routes.Authorize)
                    .SetTokenEndpointUris(Routes.Token)
                    .SetUserInfoEndpointUris(Routes.UserInfo)
                    .SetEndSessionEndpointUris(Routes.Logout)
                    .SetIntrospectionEndpointUris(Routes.Introspect)
                    .SetRevocationEndpointUris(Routes.Revoke)
                    .SetConfigurationEndpointUris(Routes.OpenIdConfiguration, Routes.AuthorizationServerMetadata)
                    .SetJsonWebKeySetEndpointUris(Routes.Jwks);

                // The code flow (with PKCE, for every client), refresh tokens, and client credentials for services:
                // no implicit, no password grant.
                options.AllowAuthorizationCodeFlow()
                    .AllowRefreshTokenFlow()
                    .AllowClientCredentialsFlow()
                    .RequireProofKeyForCodeExchange();

                options.RegisterScopes([.. SupportedScopes]);

                // Access tokens are plain signed JWTs (RFC 9068, typ at+jwt) so that resource servers can validate
                // them with the JWKS alone; codes and refresh tokens stay encrypted.
                options.DisableAccessTokenEncryption();

                // The authorization, token, userinfo and end-session requests are answered by AuthorizationController.
                var aspNetCore = options.UseAspNetCore()
                    .EnableAuthorizationEndpointPassthrough()
                    .EnableTokenEndpointPassthrough()
                    .EnableUserInfoEndpointPassthrough()
                    .EnableEndSessionEndpointPassthrough()
                    .EnableStatusCodePagesIntegration()
                    .SuppressJsonResponseIndentation();

                // HTTPS is enforced by our transport middleware in Development (plain HTTP from loopback only) and
                // by OpenIddict itself everywhere else.
                if (builder.Environment.IsDevelopment())
                {
                    aspNetCore.DisableTransportSecurityRequirement();
                }

                // Errors of a request whose client and redirect URI check out go back to the client; scope errors are
                // invalid_scope; admin is never granted to a person's app; a failed client authentication says nothing
                // of which part failed.
                options.AddEventHandler(RedirectValidationErrors.Descriptor);
                options.AddEventHandler(TokenMetrics.Descriptor);
                foreach (var descriptor in RequestIdInErrors.Descriptors)
                {
                    options.AddEventHandler(descriptor);
                }

                options.AddEventHandler(ScopeErrorCodes.TokenDescriptor);
                options.AddEventHandler(ScopeErrorCodes.AuthorizationDescriptor);
                options.AddEventHandler(ScopeErrorCodes.RejectAdminScope.Descriptor);
                foreach (var descriptor in ClientAuthenticationFailures.Descriptors)
                {
                    options.AddEventHandler(descriptor);
                }

                // Revoking a refresh token, replaying a code or a refresh token, or losing a redemption race ends the
                // whole grant.
                options.AddEventHandler(RevokeRefreshTokenFamily.Descriptor);
                options.AddEventHandler(RejectReplayedTokens.Descriptor);
                options.RemoveEventHandler(RedeemTokenEntryOnce.Replaced);
                options.AddEventHandler(RedeemTokenEntryOnce.Descriptor);
            });

        // Options from configuration (lifetimes, issuer, audience) and the keys from the database.
        services.AddServerKeys();
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

        services.AddRequestLimits();
        if (builder.Configuration.GetValue($"{OAuthOptions.SectionName}:{nameof(OAuthOptions.Acceleration)}", defaultValue: true))
        {
            builder.AddOAuthAcceleration();
        }

        return builder;
    }

    /// <summary>
    /// The OAuth endpoints' own middleware, before authentication (OpenIddict answers its endpoints inside the
    /// authentication middleware): a database failure answered 503, oversized requests refused, addresses whose
    /// clients keep failing to authenticate refused, API keys introspected; and the acceleration layer's
    /// introspection answers, when it runs.
    /// </summary>
    public static IApplicationBuilder UseOAuth(this IApplicationBuilder app)
    {
        app.UseOAuthFaults();
        app.UseOAuthRequestLimits();
        ClientAuthenticationFailures.UseClientAuthenticationLimits(app);
        app.UseApiKeyIntrospection();
        if (app.ApplicationServices.GetRequiredService<IOptions<OAuthOptions>>().Value.Acceleration)
        {
            app.UseOAuthAcceleration();
        }

        return app;
    }

    /// <summary>
    /// Errors OpenIddict cannot send back to the client (unknown client, unregistered redirect URI) end as a bare
    /// 400; the status code pages middleware re-executes them on the error page, which renders them on the server.
    /// Redirecting them would make the server an open redirector.
    /// </summary>
    public static IApplicationBuilder UseOAuthErrorPages(this IApplicationBuilder app) =>
        app.UseWhen(context => IsInteractive(context.Request.Path), branch => branch.UseStatusCodePagesWithReExecute(Routes.ErrorPage));

    /// <summary>
    /// A database failure on a back-channel OAuth endpoint (token, introspection, revocation, userinfo) is answered
    /// 503 <c>temporarily_unavailable</c> with <c>Retry-After</c>, not a bare 500: the client learns to retry, and
    /// nothing was issued (a token is returned only once its row is written).
    /// </summary>
    private static IApplicationBuilder UseOAuthFaults(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("AuthServer.OAuth.Faults");
        return app.UseWhen(
            context => Routes.IsUnder(context.Request.Path, Routes.OAuth) && !IsInteractive(context.Request.Path),
            branch => branch.Use(async (context, next) =>
            {
                try
                {
                    await next(context);
                }
                catch (Exception exception) when (DatabaseFailures.IsDatabaseFailure(exception) && !context.Response.HasStarted)
                {
                    if (DatabaseFailures.IsMissingReference(exception))
                    {
                        // A client cached here was deleted on another node: read clients again, so the retry is answered.
                        context.RequestServices.GetService<Acceleration.EntityCache>()?.InvalidateAll();
                    }

                    logger.LogError(exception, "The database failed while serving {Path}; answered 503.", context.Request.Path.Value);
                    context.Response.Clear();
                    await OAuthErrors.WriteUnavailableAsync(context, "The server could not reach its database; retry shortly.");
                }
            }));
    }

    /// <summary>Pages a person looks at, as opposed to APIs whose status codes and headers are the answer.</summary>
    private static bool IsInteractive(PathString path) =>
        Routes.IsUnder(path, Routes.Authorize)
        || Routes.IsUnder(path, Routes.Logout)
        || !(Routes.IsUnder(path, Routes.OAuth)
            || Routes.IsUnder(path, Routes.PlatformApi)
            || Routes.IsUnder(path, Routes.Admin)
            || Routes.IsUnder(path, Routes.WellKnown));

    public static IEndpointRouteBuilder MapOAuth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapControllers();
        return endpoints;
    }

    /// <summary>Loads (or makes) the keys and resolves the server options once at start-up, before the first request,
    /// so that a problem with them stops the host instead of failing requests.</summary>
    public static async Task LoadServerKeysAsync(this WebApplication app)
    {
        // The key ring's protection is checked first: no key is generated, and so stored, unprotected.
        _ = app.Services.GetRequiredService<IOptions<KeyRingOptions>>().Value;
        _ = app.Services.GetRequiredService<IOptions<OAuthOptions>>().Value;
        _ = app.Services.GetRequiredService<IOptions<ServerKeyOptions>>().Value;
        await app.Services.GetRequiredService<ServerKeyRotation>().RefreshAsync(app.Lifetime.ApplicationStopping);
        _ = app.Services.GetRequiredService<IOptionsMonitor<OpenIddictServerOptions>>().CurrentValue;
    }
}
