using AuthServer.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenIddict.EntityFrameworkCore.Models;

namespace AuthServer.OAuth.Acceleration;

/// <summary>
/// The acceleration layer: everything that exists only to make the protocol cheaper, registered here and nowhere
/// else, and left out entirely with <c>OAuth:Acceleration=false</c> (the server then runs OpenIddict's own stores and
/// pipeline, with the same behaviour; the protocol tests run in both modes). Each part answers exactly as what it
/// replaces, and its tests say so by comparing the two.
/// </summary>
internal static class AccelerationExtensions
{
    public static IHostApplicationBuilder AddOAuthAcceleration(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<EntityCache>();
        services.AddScoped<TokenWriteBatch>();
        services.AddSingleton<TokenGroupCommit>();
        services.AddSingleton<IntrospectionCache>();

        services.AddOpenIddict()
            .AddCore(options =>
            {
                // Clients and scopes are read on every request and change rarely: a node remembers them.
                options.ReplaceApplicationManager<OpenIddictEntityFrameworkCoreApplication, CachedClientApplicationManager>();
                options.ReplaceScopeManager<OpenIddictEntityFrameworkCoreScope, CachedScopeManager>();

                // A sign-in's token rows, and the redemption of its code, are written in one transaction; tokens are
                // linked to their client and authorization by key; the hot lookups are compiled queries.
                options.ReplaceTokenManager<OpenIddictEntityFrameworkCoreToken, AcceleratedTokenManager>();
                options.ReplaceTokenStore<OpenIddictEntityFrameworkCoreToken, TokenStore>(ServiceLifetime.Scoped);
                options.ReplaceAuthorizationStore<OpenIddictEntityFrameworkCoreAuthorization, AuthorizationStore>(ServiceLifetime.Scoped);
            })
            .AddServer(options =>
            {
                options.AddEventHandler(TokenWriteBatch.Begin.Descriptor);
                options.AddEventHandler(TokenWriteBatch.Flush.Descriptor);

                // Plain client_credentials requests are answered before OpenIddict's pipeline.
                options.AddEventHandler(ClientCredentialsFastPath.Descriptor);
            });

        // The sign-in flow's account reads as compiled queries.
        services.Replace(ServiceDescriptor.Scoped<IUserStore<ApplicationUser>, AccountUserStore>());
        return builder;
    }

    /// <summary>Goes before authentication, where OpenIddict answers: repeated introspections are answered from memory.</summary>
    public static IApplicationBuilder UseOAuthAcceleration(this IApplicationBuilder app) => IntrospectionCache.Use(app);
}
