using AuthServer.Tests.Infrastructure;
using AuthServer.Tests.PlatformApi;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.OAuth;

/// <summary>The server with <c>OAuth:Acceleration=false</c>: OpenIddict's own stores, dispatcher and pipeline.</summary>
public sealed class UnacceleratedServer() : AuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
{
    ["OAuth:Acceleration"] = "false",
});

// The protocol tests again, without the acceleration layer: it may change how fast the server answers, never what.

public sealed class AuthorizationCodeFlowTestsWithoutAcceleration(UnacceleratedServer server)
    : AuthorizationCodeFlowTests(server), IClassFixture<UnacceleratedServer>;

public sealed class AuthorizeRequestTestsWithoutAcceleration(UnacceleratedServer server)
    : AuthorizeRequestTests(server), IClassFixture<UnacceleratedServer>;

public sealed class TokenEndpointTestsWithoutAcceleration(UnacceleratedServer server)
    : TokenEndpointTests(server), IClassFixture<UnacceleratedServer>;

public sealed class ServiceClientTestsWithoutAcceleration(UnacceleratedServer server)
    : ServiceClientTests(server), IClassFixture<UnacceleratedServer>;

public sealed class RevokedTokenTestsWithoutAcceleration(UnacceleratedServer server)
    : RevokedTokenTests(server), IClassFixture<UnacceleratedServer>;

public sealed class AccelerationSwitchTests(UnacceleratedServer server) : IClassFixture<UnacceleratedServer>
{
    [Fact]
    public async Task Off_TheServerRunsOpenIddictsOwnManagersAndStores()
    {
        await using var scope = server.Services.CreateAsyncScope();
        var tokens = scope.ServiceProvider.GetRequiredService<OpenIddict.Abstractions.IOpenIddictTokenManager>();
        var applications = scope.ServiceProvider.GetRequiredService<OpenIddict.Abstractions.IOpenIddictApplicationManager>();

        Assert.DoesNotContain(".Acceleration.", tokens.GetType().FullName, StringComparison.Ordinal);
        Assert.DoesNotContain(".Acceleration.", applications.GetType().FullName, StringComparison.Ordinal);
        Assert.Null(scope.ServiceProvider.GetService(typeof(Program).Assembly.GetType("AuthServer.OAuth.Acceleration.IntrospectionCache", throwOnError: true)!));
    }

    [Fact]
    public async Task On_ByDefault_TheAcceleratedManagersRun()
    {
        await using var accelerated = new AuthServerFactory();
        await using var scope = accelerated.Services.CreateAsyncScope();
        var tokens = scope.ServiceProvider.GetRequiredService<OpenIddict.Abstractions.IOpenIddictTokenManager>();

        Assert.Contains(".Acceleration.", tokens.GetType().FullName, StringComparison.Ordinal);
    }
}
