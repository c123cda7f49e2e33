using System.Security.Claims;
using AuthServer.OAuth;
using AuthServer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.Tests.OAuth;

/// <summary>
/// <see cref="TokenStore"/> links a token to its client and authorization through foreign keys, and reads them back
/// (and finds tokens its context tracks) without EF Core's detect-changes pass: what it answers is what was set, on the
/// context that set it and on a fresh one.
/// </summary>
public sealed class TokenStoreTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    [Fact]
    public async Task Links_ReadBackAsSet_ClearedLinksReadBackEmpty_AndAreStoredSo()
    {
        var (application, authorization) = await ApplicationAndAuthorizationAsync();
        string tokenId;
        string referenceId = Guid.NewGuid().ToString("N");

        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var store = Store(scope);
            var token = new OpenIddictEntityFrameworkCoreToken
            {
                Type = TokenTypeHints.RefreshToken,
                Status = Statuses.Valid,
                Subject = "someone",
                ReferenceId = referenceId,
                CreationDate = DateTime.UtcNow,
                ExpirationDate = DateTime.UtcNow.AddHours(1),
            };

            // Linked before it is added (as OpenIddict populates a new token), then added and saved.
            await store.SetApplicationIdAsync(token, application, CancellationToken.None);
            await store.SetAuthorizationIdAsync(token, authorization, CancellationToken.None);
            Assert.Equal(application, await store.GetApplicationIdAsync(token, CancellationToken.None));
            await store.CreateAsync(token, CancellationToken.None);
            tokenId = token.Id!;
            Assert.Equal(application, await store.GetApplicationIdAsync(token, CancellationToken.None));
            Assert.Equal(authorization, await store.GetAuthorizationIdAsync(token, CancellationToken.None));

            // The context tracks it: the lookups answer that very instance.
            Assert.Same(token, await store.FindByReferenceIdAsync(referenceId, CancellationToken.None));
            Assert.Same(token, await store.FindByIdAsync(tokenId, CancellationToken.None));

            // Cleared on a tracked token: read back empty at once, and stored so.
            await store.SetAuthorizationIdAsync(token, null, CancellationToken.None);
            Assert.Null(await store.GetAuthorizationIdAsync(token, CancellationToken.None));
            Assert.Equal(application, await store.GetApplicationIdAsync(token, CancellationToken.None));
            await store.UpdateAsync(token, CancellationToken.None);
        }

        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var store = Store(scope);
            var token = await store.FindByReferenceIdAsync(referenceId, CancellationToken.None);
            Assert.NotNull(token);
            Assert.Equal(tokenId, token.Id);
            Assert.Equal(application, await store.GetApplicationIdAsync(token, CancellationToken.None));
            Assert.Null(await store.GetAuthorizationIdAsync(token, CancellationToken.None));

            // Read from the database (with its client loaded), then cleared: the same.
            await store.SetApplicationIdAsync(token, null, CancellationToken.None);
            Assert.Null(await store.GetApplicationIdAsync(token, CancellationToken.None));
            await store.UpdateAsync(token, CancellationToken.None);
        }

        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var token = await Store(scope).FindByIdAsync(tokenId, CancellationToken.None);
            Assert.NotNull(token);
            Assert.Null(await Store(scope).GetApplicationIdAsync(token, CancellationToken.None));
        }
    }

    private static TokenStore Store(AsyncServiceScope scope) =>
        Assert.IsType<TokenStore>(scope.ServiceProvider.GetRequiredService<IOpenIddictTokenStore<OpenIddictEntityFrameworkCoreToken>>());

    private async Task<(string Application, string Authorization)> ApplicationAndAuthorizationAsync()
    {
        var client = await factory.RegisterClientAsync();
        await using var scope = factory.Services.CreateAsyncScope();
        var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        var application = (await applications.GetIdAsync((await applications.FindByClientIdAsync(client.ClientId))!))!;
        var authorizations = scope.ServiceProvider.GetRequiredService<IOpenIddictAuthorizationManager>();
        var authorization = await authorizations.CreateAsync(
            new ClaimsPrincipal(new ClaimsIdentity("test")), "someone", application, AuthorizationTypes.Permanent, ["read"]);
        return (application, (await authorizations.GetIdAsync(authorization))!);
    }
}
