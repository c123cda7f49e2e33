using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using AuthServer.Data;
using AuthServer.OAuth.Keys;
using AuthServer.Retention;
using AuthServer.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.PostgreSql;

/// <summary>
/// The server on a real PostgreSQL (<c>Database:Provider=PostgreSql</c>): the schema from its migrations, the code flow
/// with refresh, client credentials and introspection, a restart on the same database, key rotation and pruning.
/// </summary>
public sealed class PostgreSqlFlowTests(PostgreSqlServer postgres) : IClassFixture<PostgreSqlServer>
{
    private async Task<ConfiguredAuthServerFactory> ServerAsync(string? connectionString = null) =>
        new(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
        {
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = connectionString ?? await postgres.NewDatabaseAsync(),
            ["Database:MigrateOnStartup"] = "true",
        });

    [Fact]
    public async Task CodeFlow_Refresh_ClientCredentials_AndIntrospection_OnPostgreSql()
    {
        Assert.SkipWhen(postgres.SkipReason is not null, postgres.SkipReason ?? "");
        await using var factory = await ServerAsync();
        using var api = factory.CreateApiClient();

        var (browser, client, tokens) = await OAuthFlow.FullFlowAsync(factory);
        browser.Dispose();
        using var profile = new HttpRequestMessage(HttpMethod.Get, "/v1/user/profile") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken) } };
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(profile)).StatusCode);
        var refreshed = await OAuthFlow.RefreshAsync(api, client, tokens.RefreshToken!);
        Assert.Equal(HttpStatusCode.OK, refreshed.Status);

        // A replayed refresh token (past the confidential client's 2 s leeway) revokes the family, as on every provider.
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.Equal("invalid_grant", (await OAuthFlow.RefreshAsync(api, client, tokens.RefreshToken!)).Error);
        Assert.Equal("invalid_grant", (await OAuthFlow.RefreshAsync(api, client, refreshed.RefreshToken!)).Error);

        var service = await factory.RegisterServiceAsync("read");
        var issued = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            OAuthFlow.TokenAsync(api, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials" })));
        Assert.All(issued, token => Assert.Equal(HttpStatusCode.OK, token.Status));
        using var introspect = new HttpRequestMessage(HttpMethod.Post, "/oauth/introspect")
        {
            Headers = { Authorization = OAuthFlow.Basic(service) },
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = issued[0].AccessToken }),
        };
        using var answer = JsonDocument.Parse(await (await api.SendAsync(introspect)).Content.ReadAsStringAsync());
        Assert.True(answer.RootElement.GetProperty("active").GetBoolean());
    }

    [Fact]
    public async Task Restart_OnTheSameDatabase_KeepsKeysAndTokens_AndKeysRotateAndPruneRuns()
    {
        Assert.SkipWhen(postgres.SkipReason is not null, postgres.SkipReason ?? "");
        var database = await postgres.NewDatabaseAsync();
        string accessToken;
        await using (var before = await ServerAsync(database))
        {
            var (browser, _, tokens) = await OAuthFlow.FullFlowAsync(before);
            browser.Dispose();
            accessToken = tokens.AccessToken;
        }

        await using var after = await ServerAsync(database);
        using var api = after.CreateApiClient();
        using var profile = new HttpRequestMessage(HttpMethod.Get, "/v1/user/profile") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", accessToken) } };
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(profile)).StatusCode);

        // Keys: an announced key is added once, however many callers race.
        var store = after.Services.GetRequiredService<ServerKeyStore>();
        await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => Task.Run(async () =>
        {
            try
            {
                await store.RotateAsync([AuthServer.Data.ServerKeyPurposes.Signing], immediately: false, CancellationToken.None);
            }
            catch (InvalidOperationException)
            {
                // Another caller announced it first.
            }
        })));
        var states = await store.ListAsync(CancellationToken.None);
        Assert.Single(states, state => state.Status == ServerKeyStatus.Announced);

        // Pruning: an old revoked token goes, the live ones stay.
        await using (var scope = after.Services.CreateAsyncScope())
        {
            var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
            var application = await context.Set<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreApplication>().FirstAsync();
            context.Add(new OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreToken
            {
                Application = application,
                Status = "revoked",
                Type = "access_token",
                Subject = "old",
                CreationDate = DateTime.UtcNow.AddDays(-30),
                ExpirationDate = DateTime.UtcNow.AddDays(-29),
            });
            await context.SaveChangesAsync();
        }

        var pruned = await PruningService.RunOnceAsync(after.Services.GetRequiredService<IServiceScopeFactory>(), CancellationToken.None);
        Assert.Equal(1, pruned.Tokens);
        using var again = new HttpRequestMessage(HttpMethod.Get, "/v1/user/profile") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", accessToken) } };
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(again)).StatusCode);
    }
}
