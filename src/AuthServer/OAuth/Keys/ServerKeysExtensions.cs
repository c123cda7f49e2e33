using AuthServer.Core;
using Microsoft.Extensions.Options;
using OpenIddict.Server;

namespace AuthServer.OAuth.Keys;

/// <summary>The server's signing and encryption keys: kept in the database, rotated, and shared by every node.</summary>
internal static class ServerKeysExtensions
{
    public static IServiceCollection AddServerKeys(this IServiceCollection services)
    {
        services.AddOptions<ServerKeyOptions>()
            .BindConfiguration(ServerKeyOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ServerKeyOptions>>(provider =>
        {
            var oauth = provider.GetRequiredService<IOptions<OAuthOptions>>();
            return new DescribedValidation<ServerKeyOptions>(keys => ServerKeyOptions.Validate(keys, oauth.Value));
        });

        services.AddSingleton<ServerKeyStore>();
        services.AddSingleton<ServerKeySet>();
        services.AddSingleton<IOptionsChangeTokenSource<OpenIddictServerOptions>>(provider => provider.GetRequiredService<ServerKeySet>());
        services.AddSingleton<IConfigureOptions<OpenIddictServerOptions>, ServerKeyConfigurator>();
        services.AddSingleton<ServerKeyRotation>();
        services.AddHostedService(provider => provider.GetRequiredService<ServerKeyRotation>());
        return services;
    }
}
