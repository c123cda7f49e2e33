using System.Security.Claims;
using AuthServer.OAuth.Acceleration;
using AuthServer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.Tests.OAuth;

/// <summary>
/// <see cref="TokenStore"/> links a token to its client and authorization through foreign keys, and reads them back
/// (and finds tokens its context tracks) without EF Core's detect-changes pass: what it answers is what was set, on the
/// context that set it and on a fresh one. During a sign-in, a code's redemption is written with the sign-in's tokens
/// (<see cref="TokenWriteBatch"/>), under its concurrency check.
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

    [Fact]
    public async Task CodeRedeemedInTwoSignInsAtOnce_OneCommitsWithItsTokens_TheOtherWritesNothing()
    {
        var (application, authorization) = await ApplicationAndAuthorizationAsync();
        string codeId;
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var code = await scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>().CreateAsync(new OpenIddictTokenDescriptor
            {
                Type = TokenTypeIdentifiers.Private.AuthorizationCode,
                Status = Statuses.Valid,
                Subject = "someone",
                ApplicationId = application,
                AuthorizationId = authorization,
                ReferenceId = Guid.NewGuid().ToString("N"),
                CreationDate = DateTimeOffset.UtcNow,
                ExpirationDate = DateTimeOffset.UtcNow.AddMinutes(5),
            });
            codeId = (await scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>().GetIdAsync(code))!;
        }

        // Two sign-ins, each on its own request scope, read the code while it is valid and redeem it; each issues a token.
        await using var first = factory.Services.CreateAsyncScope();
        await using var second = factory.Services.CreateAsyncScope();
        var issued = new List<string>();
        foreach (var scope in new[] { first, second })
        {
            scope.ServiceProvider.GetRequiredService<TokenWriteBatch>().Open();
            var tokens = scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>();
            Assert.True(await tokens.TryRedeemAsync((await tokens.FindByIdAsync(codeId))!));
            var token = await tokens.CreateAsync(new OpenIddictTokenDescriptor
            {
                Type = TokenTypeIdentifiers.AccessToken,
                Status = Statuses.Valid,
                Subject = "someone",
                ApplicationId = application,
                AuthorizationId = authorization,
                CreationDate = DateTimeOffset.UtcNow,
                ExpirationDate = DateTimeOffset.UtcNow.AddHours(1),
            });
            issued.Add((await tokens.GetIdAsync(token))!);
        }

        // Nothing is written until the flush; then the first commits, and the second finds the code no longer as it
        // read it: its whole transaction fails, its token included.
        await using (var before = factory.Services.CreateAsyncScope())
        {
            var stored = before.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>();
            Assert.True(await stored.HasStatusAsync((await stored.FindByIdAsync(codeId))!, Statuses.Valid));
            Assert.Null(await stored.FindByIdAsync(issued[0]));
        }

        Assert.Null(await first.ServiceProvider.GetRequiredService<TokenWriteBatch>().FlushAsync(CancellationToken.None));
        Assert.NotNull(await second.ServiceProvider.GetRequiredService<TokenWriteBatch>().FlushAsync(CancellationToken.None));

        await using var check = factory.Services.CreateAsyncScope();
        var manager = check.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>();
        Assert.True(await manager.HasStatusAsync((await manager.FindByIdAsync(codeId))!, Statuses.Redeemed));
        Assert.NotNull(await manager.FindByIdAsync(issued[0]));
        Assert.Null(await manager.FindByIdAsync(issued[1]));
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
