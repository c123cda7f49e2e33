using System.Collections.Immutable;
using System.Security.Claims;
using AuthServer.OAuth.Acceleration;
using AuthServer.Tests.Infrastructure;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore;
using OpenIddict.EntityFrameworkCore.Models;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.Tests.OAuth;

/// <summary>The compiled consent lookup of <see cref="AuthorizationStore"/> finds what OpenIddict's stock store finds.</summary>
public sealed class AuthorizationStoreTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    [Fact]
    public async Task FindAsync_FindsWhatTheStockStoreFinds()
    {
        var subject = Guid.NewGuid().ToString();
        var mine = await ApplicationIdAsync((await factory.RegisterClientAsync()).ClientId);
        var other = await ApplicationIdAsync((await factory.RegisterClientAsync()).ClientId);

        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var authorizations = scope.ServiceProvider.GetRequiredService<IOpenIddictAuthorizationManager>();
            async Task CreateAsync(string client, string status, string type, params string[] scopes)
            {
                var authorization = await authorizations.CreateAsync(
                    new ClaimsPrincipal(new ClaimsIdentity("test")), subject, client, type, [.. scopes]);
                if (status != Statuses.Valid)
                {
                    await authorizations.TryRevokeAsync(authorization);
                }
            }

            await CreateAsync(mine, Statuses.Valid, AuthorizationTypes.Permanent, "openid", "read");
            await CreateAsync(mine, Statuses.Valid, AuthorizationTypes.Permanent, "openid", "read", "write");
            await CreateAsync(mine, Statuses.Valid, AuthorizationTypes.Permanent, "read");
            await CreateAsync(mine, Statuses.Revoked, AuthorizationTypes.Permanent, "openid", "read");
            await CreateAsync(mine, Statuses.Valid, AuthorizationTypes.AdHoc, "openid", "read");
            await CreateAsync(other, Statuses.Valid, AuthorizationTypes.Permanent, "openid", "read");
        }

        foreach (ImmutableArray<string>? scopes in new ImmutableArray<string>?[] { null, [], ["openid", "read"], ["write"], ["admin"] })
        {
            foreach (var (status, type) in new[]
                     {
                         (Statuses.Valid, AuthorizationTypes.Permanent),
                         (Statuses.Revoked, AuthorizationTypes.Permanent),
                         (Statuses.Valid, AuthorizationTypes.AdHoc),
                     })
            {
                var ours = await IdsAsync(OurStore, subject, mine, status, type, scopes);
                var stock = await IdsAsync(StockStore, subject, mine, status, type, scopes);
                Assert.Equal(stock, ours);
            }
        }

        // Both say the same of the most common question, and it is not a trivial answer.
        var permanent = await IdsAsync(OurStore, subject, mine, Statuses.Valid, AuthorizationTypes.Permanent, ["openid", "read"]);
        Assert.Equal(2, permanent.Count);
    }

    private static IOpenIddictAuthorizationStore<OpenIddictEntityFrameworkCoreAuthorization> OurStore(AsyncServiceScope scope) =>
        Assert.IsType<AuthorizationStore>(scope.ServiceProvider.GetRequiredService<IOpenIddictAuthorizationStore<OpenIddictEntityFrameworkCoreAuthorization>>());

    private static OpenIddictEntityFrameworkCoreAuthorizationStore StockStore(AsyncServiceScope scope) => new(
        scope.ServiceProvider.GetRequiredService<IMemoryCache>(),
        scope.ServiceProvider.GetRequiredService<IOpenIddictEntityFrameworkCoreContext>(),
        scope.ServiceProvider.GetRequiredService<IOptionsMonitor<OpenIddictEntityFrameworkCoreOptions>>());

    private async Task<List<string>> IdsAsync(
        Func<AsyncServiceScope, IOpenIddictAuthorizationStore<OpenIddictEntityFrameworkCoreAuthorization>> store,
        string subject, string client, string status, string type, ImmutableArray<string>? scopes)
    {
        // Each store reads on a context of its own, so neither answers from what the other tracked.
        await using var scope = factory.Services.CreateAsyncScope();
        var ids = new List<string>();
        await foreach (var authorization in store(scope).FindAsync(subject, client, status, type, scopes, CancellationToken.None))
        {
            ids.Add(authorization.Id!);
        }

        return [.. ids.Order(StringComparer.Ordinal)];
    }

    private async Task<string> ApplicationIdAsync(string clientId)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        return (await applications.GetIdAsync((await applications.FindByClientIdAsync(clientId))!))!;
    }
}
