using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using AuthServer.Accounts;
using AuthServer.ApiKeys;
using AuthServer.Clients;
using AuthServer.Data;
using AuthServer.Tests.Infrastructure;
using AuthServer.Usage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;

namespace AuthServer.Tests.MultiNode;

/// <summary>Two nodes on PostgreSQL (started by the fixture) and Redis.</summary>
public sealed class PostgreSqlTwoNodeTests(PostgreSqlCluster cluster) : TwoNodeTests(cluster), IClassFixture<PostgreSqlCluster>;

/// <summary>The same on SQL Server, when <c>AUTHSERVER_TEST_SQLSERVER</c> names one.</summary>
public sealed class SqlServerTwoNodeTests(SqlServerCluster cluster) : TwoNodeTests(cluster), IClassFixture<SqlServerCluster>;

/// <summary>
/// The promises of a deployment of N nodes on one database and one Redis, kept by two: what one node issues the other
/// accepts, a credential redeemed at once on both is redeemed once, and what one node revokes the other refuses within
/// a second, though its caches would keep it for minutes.
/// </summary>
public abstract class TwoNodeTests(Cluster cluster)
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task TokensFromOneNode_AreValidOnTheOther_AndSoIsTheSignInCookie()
    {
        SkipUnlessRunning();
        var cookies = new CookieContainer();
        using var onA = Cluster.BrowserOn(cluster.A, cookies);
        using var onB = Cluster.BrowserOn(cluster.B, cookies);
        await OAuthFlow.SignUpAsync(onA, OAuthFlow.NewEmail());

        // The cookie issued by A is read by B: the Data Protection key ring is the database's.
        var (dashboard, _) = await onB.GetPageAsync("/dashboard/keys");
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);

        var client = await cluster.A.RegisterClientAsync();
        var pkce = Pkce.Create();
        var code = await OAuthFlow.GetCodeAsync(onB, OAuthFlow.AuthorizeUrl(client.ClientId, "https://app.example/callback", "openid offline_access read", pkce));
        using var apiA = cluster.A.CreateApiClient();
        using var apiB = cluster.B.CreateApiClient();
        var tokens = await OAuthFlow.RedeemAsync(apiA, client, code, pkce.Verifier);
        Assert.Equal(HttpStatusCode.OK, tokens.Status);

        // Locally (the signature against the shared keys) and by introspection.
        Assert.Equal(HttpStatusCode.OK, (await ProfileAsync(apiB, tokens.AccessToken)).StatusCode);
        Assert.True(await ActiveAsync(cluster.B, tokens.AccessToken));
        var refreshed = await OAuthFlow.RefreshAsync(apiB, client, tokens.RefreshToken!);
        Assert.Equal(HttpStatusCode.OK, refreshed.Status);
        Assert.Equal(HttpStatusCode.OK, (await ProfileAsync(apiA, refreshed.AccessToken)).StatusCode);
    }

    [Fact]
    public async Task ACodeRedeemedTwentyTimesAtOnce_OnBothNodes_IsRedeemedOnce_AndItsTokensAreRevoked()
    {
        SkipUnlessRunning();
        var (client, code, pkce) = await OAuthFlow.NewCodeAsync(cluster.A);
        using var apiA = cluster.A.CreateApiClient();
        using var apiB = cluster.B.CreateApiClient();

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            OAuthFlow.RedeemAsync(i % 2 == 0 ? apiA : apiB, client, code, pkce.Verifier)));

        var winner = Assert.Single(answers, answer => answer.Status == HttpStatusCode.OK);
        Assert.All(answers.Where(answer => answer != winner), answer => Assert.Equal("invalid_grant", answer.Error));

        // A replay ends the grant: the winner's tokens too, on both nodes.
        await Poll.UntilAsync(Second, async () => !await ActiveAsync(cluster.A, winner.AccessToken) && !await ActiveAsync(cluster.B, winner.AccessToken), "the winner's access token revoked");
        Assert.Equal("invalid_grant", (await OAuthFlow.RefreshAsync(apiB, client, winner.RefreshToken!)).Error);
    }

    [Fact]
    public async Task ARefreshTokenReplayedOnBothNodes_IsRedeemedOnce_AndTheGrantIsRevoked()
    {
        SkipUnlessRunning();
        var (client, code, pkce) = await OAuthFlow.NewCodeAsync(cluster.A);
        using var apiA = cluster.A.CreateApiClient();
        using var apiB = cluster.B.CreateApiClient();
        var tokens = await OAuthFlow.RedeemAsync(apiA, client, code, pkce.Verifier);

        var answers = await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
            OAuthFlow.RefreshAsync(i % 2 == 0 ? apiA : apiB, client, tokens.RefreshToken!)));

        var winner = Assert.Single(answers, answer => answer.Status == HttpStatusCode.OK);
        Assert.All(answers.Where(answer => answer != winner), answer => Assert.Equal("invalid_grant", answer.Error));
        Assert.Equal("invalid_grant", (await OAuthFlow.RefreshAsync(apiA, client, winner.RefreshToken!)).Error);
        await Poll.UntilAsync(Second, async () => !await ActiveAsync(cluster.B, winner.AccessToken) && !await ActiveAsync(cluster.B, tokens.AccessToken), "the grant's access tokens revoked");
    }

    [Fact]
    public async Task TokensRevokedOnOneNode_AreRefusedOnTheOther_WithinASecond()
    {
        SkipUnlessRunning();
        using var apiA = cluster.A.CreateApiClient();
        using var apiB = cluster.B.CreateApiClient();
        var (client, code, pkce) = await OAuthFlow.NewCodeAsync(cluster.A);
        var tokens = await OAuthFlow.RedeemAsync(apiA, client, code, pkce.Verifier);

        // B has answered (and remembered) that the tokens are good.
        Assert.True(await ActiveAsync(cluster.B, tokens.AccessToken));
        Assert.True(await ActiveAsync(cluster.B, tokens.RefreshToken!, client));
        Assert.Equal(HttpStatusCode.OK, (await ProfileAsync(apiB, tokens.AccessToken)).StatusCode);

        using var revoke = new HttpRequestMessage(HttpMethod.Post, "/oauth/revoke")
        {
            Headers = { Authorization = OAuthFlow.Basic(client) },
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = tokens.RefreshToken!, ["token_type_hint"] = "refresh_token" }),
        };
        Assert.Equal(HttpStatusCode.OK, (await apiA.SendAsync(revoke)).StatusCode);

        await Poll.UntilAsync(Second, async () => !await ActiveAsync(cluster.B, tokens.AccessToken), "the access token inactive on B's introspection");
        await Poll.UntilAsync(Second, async () => !await ActiveAsync(cluster.B, tokens.RefreshToken!, client), "the refresh token inactive on B's introspection");
        await Poll.UntilAsync(Second, async () => (await ProfileAsync(apiB, tokens.AccessToken)).StatusCode == HttpStatusCode.Unauthorized, "the access token refused on B's /v1");
    }

    [Fact]
    public async Task AnApiKeyRevokedOnOneNode_IsRefusedOnTheOther_WithinASecond()
    {
        SkipUnlessRunning();
        var (userId, key) = await cluster.NewKeyAsync();
        using var apiB = cluster.B.CreateApiClient();
        Assert.Equal(HttpStatusCode.OK, (await ModelsAsync(apiB, key.Secret)).StatusCode);

        await using (var scope = cluster.A.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<ApiKeyService>().RevokeAsync(userId, key.Key.Id, userId, CancellationToken.None);
        }

        await Poll.UntilAsync(Second, async () => (await ModelsAsync(apiB, key.Secret)).StatusCode == HttpStatusCode.Unauthorized, "the revoked key refused on B");
    }

    [Fact]
    public async Task ADeletedClient_AndASecretPastItsGrace_AreRefusedOnTheOtherNode_WithinASecond()
    {
        SkipUnlessRunning();
        using var apiB = cluster.B.CreateApiClient();
        var deleted = await cluster.A.RegisterServiceAsync("read");
        var rotated = await cluster.A.RegisterServiceAsync("read");
        Assert.Equal(HttpStatusCode.OK, (await ClientCredentialsAsync(apiB, deleted)).Status);
        Assert.Equal(HttpStatusCode.OK, (await ClientCredentialsAsync(apiB, rotated)).Status);

        string newSecret;
        await using (var scope = cluster.A.Services.CreateAsyncScope())
        {
            var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
            await applications.DeleteAsync((await applications.FindByClientIdAsync(deleted.ClientId))!);
            newSecret = (await scope.ServiceProvider.GetRequiredService<ClientSecretRotator>()
                .RotateAsync(rotated.ClientId, TimeSpan.FromSeconds(2), CancellationToken.None))!;
        }

        var answers = new List<TokenResponse>();
        await Poll.UntilAsync(Second, async () =>
        {
            answers.Add(await ClientCredentialsAsync(apiB, deleted));
            return answers[^1].Error == "invalid_client";
        }, "the deleted client refused on B");
        Assert.All(answers, answer => Assert.True(answer.Status is HttpStatusCode.OK or HttpStatusCode.Unauthorized, $"{answer.Status}: {answer.Body}"));

        // Within the grace both secrets work on B; past it the old one is refused there.
        await Poll.UntilAsync(Second, async () => (await ClientCredentialsAsync(apiB, rotated with { ClientSecret = newSecret })).Status == HttpStatusCode.OK, "the new secret accepted on B");
        Assert.Equal(HttpStatusCode.OK, (await ClientCredentialsAsync(apiB, rotated)).Status);
        await Task.Delay(TimeSpan.FromSeconds(2));
        await Poll.UntilAsync(Second, async () => (await ClientCredentialsAsync(apiB, rotated)).Error == "invalid_client", "the old secret refused on B past its grace");
    }

    [Fact]
    public async Task AClientDeletedWhileTheMessageIsLost_IsRefusedAsInvalidClient_AndOthersWrittenWithItAreServed()
    {
        SkipUnlessRunning();
        using var apiB = cluster.B.CreateApiClient();
        var deleted = await cluster.A.RegisterServiceAsync("read");
        var other = await cluster.A.RegisterServiceAsync("read");
        Assert.Equal(HttpStatusCode.OK, (await ClientCredentialsAsync(apiB, deleted)).Status);
        Assert.Equal(HttpStatusCode.OK, (await ClientCredentialsAsync(apiB, other)).Status);

        await cluster.Redis.StopAsync();
        try
        {
            await using (var scope = cluster.A.Services.CreateAsyncScope())
            {
                var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
                await applications.DeleteAsync((await applications.FindByClientIdAsync(deleted.ClientId))!);
            }

            // B still has the deleted client cached; its token row is refused by the database (the client's row is
            // gone), and the rows of other requests committed with it are written on their own.
            var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => ClientCredentialsAsync(apiB, i % 4 == 0 ? deleted : other)));
            for (var i = 0; i < answers.Length; i++)
            {
                Assert.Equal(i % 4 == 0 ? "invalid_client" : null, answers[i].Error);
            }
        }
        finally
        {
            await cluster.Redis.StartAsync();
        }
    }

    [Fact]
    public async Task ATierChangedOnOneNode_IsAppliedOnTheOther_WithinASecond()
    {
        SkipUnlessRunning();
        var (userId, key) = await cluster.NewKeyAsync();
        using var apiB = cluster.B.CreateApiClient();
        Assert.Equal("1000", Header(await ModelsAsync(apiB, key.Secret), "X-RateLimit-Limit"));

        await using (var scope = cluster.A.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<AccountTierService>().SetAsync(userId, AccountTiers.Pro, null, "admin", CancellationToken.None);
        }

        await Poll.UntilAsync(Second, async () => Header(await ModelsAsync(apiB, key.Secret), "X-RateLimit-Limit") == "2000", "the pro limit on B");
    }

    [Fact]
    public async Task ANodeThatMissedMessagesWhileRedisWasAway_EmptiesItsCaches_WhenItIsBack()
    {
        SkipUnlessRunning();
        var (userId, key) = await cluster.NewKeyAsync();
        using var apiB = cluster.B.CreateApiClient();
        Assert.Equal(HttpStatusCode.OK, (await ModelsAsync(apiB, key.Secret)).StatusCode);

        await cluster.Redis.StopAsync();
        try
        {
            await using var scope = cluster.A.Services.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<ApiKeyService>().RevokeAsync(userId, key.Key.Id, userId, CancellationToken.None);

            // The message is lost: B serves what it remembers (the cache lasts a minute), unless its own reconnection
            // from an earlier Redis restart in this class lands now and empties its caches: then it refuses already,
            // which is the promise too. Either way B answers, never with an error.
            Assert.Contains((await ModelsAsync(apiB, key.Secret)).StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Unauthorized });
        }
        finally
        {
            await cluster.Redis.StartAsync();
        }

        // The connection comes back within a few seconds (1 s between retries); then B asks the database again.
        await Poll.UntilAsync(TimeSpan.FromSeconds(15), async () => (await ModelsAsync(apiB, key.Secret)).StatusCode == HttpStatusCode.Unauthorized, "the key refused on B after Redis came back");
    }

    [Fact]
    public async Task SuspiciousActivity_IsCountedAcrossNodes_AndRecordedOnce()
    {
        SkipUnlessRunning();
        var (userId, key) = await cluster.NewKeyAsync();
        await using (var scope = cluster.A.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<ApiKeyService>().RevokeAsync(userId, key.Key.Id, userId, CancellationToken.None);
        }

        // Three refused calls on each node: under the burst of five on either, over it together.
        using var apiA = cluster.A.CreateApiClient();
        using var apiB = cluster.B.CreateApiClient();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await ModelsAsync(apiA, key.Secret)).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await ModelsAsync(apiB, key.Secret)).StatusCode);
        }

        // Two addresses seen by A and one by B: three distinct ones for the key.
        var (otherUser, other) = await cluster.NewKeyAsync();
        await cluster.A.Services.GetRequiredService<SuspiciousActivity>().KeyUseAsync(other.Key.Id, otherUser, "192.0.2.1");
        await cluster.A.Services.GetRequiredService<SuspiciousActivity>().KeyUseAsync(other.Key.Id, otherUser, "192.0.2.2");
        await cluster.B.Services.GetRequiredService<SuspiciousActivity>().KeyUseAsync(other.Key.Id, otherUser, "198.51.100.7");
        await cluster.B.Services.GetRequiredService<SuspiciousActivity>().KeyUseAsync(other.Key.Id, otherUser, "203.0.113.9");

        await cluster.A.Services.GetRequiredService<UsageMeter>().FlushAsync(CancellationToken.None);
        await cluster.B.Services.GetRequiredService<UsageMeter>().FlushAsync(CancellationToken.None);
        await using var read = cluster.A.Services.CreateAsyncScope();
        var alerts = await read.ServiceProvider.GetRequiredService<AuthDbContext>().AuditEvents.AsNoTracking()
            .Where(e => e.Action.StartsWith("security.") && (e.Target == key.Key.Id || e.Target == other.Key.Id)).ToListAsync();
        Assert.Single(alerts, alert => alert.Action == SuspiciousActivity.FailureBurst && alert.Target == key.Key.Id);
        var many = Assert.Single(alerts, alert => alert.Action == SuspiciousActivity.KeyManyIps && alert.Target == other.Key.Id);
        using var details = JsonDocument.Parse(many.Details!);
        Assert.Equal(3, details.RootElement.GetProperty("distinct_ips").GetInt32());
    }

    [Fact]
    public async Task ANodeKilledMidLoad_LeavesTheOtherServing_AndLosesNothingItAcknowledged()
    {
        SkipUnlessRunning();

        // Two server processes on a database of their own, one issuer for both (as behind a balancer); a client and
        // the resource server made beforehand.
        var settings = cluster.NodeSettings(await cluster.NewDatabaseAsync());
        settings["OAuth:Issuer"] = "https://auth.example/";
        RegisteredClient service, resourceServer;
        await using (var setup = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), settings))
        {
            service = await setup.RegisterServiceAsync("read");
            resourceServer = await setup.ResourceServerAsync();
        }

        var environment = settings.ToDictionary(setting => setting.Key.Replace(":", "__", StringComparison.Ordinal), setting => setting.Value ?? "");
        await using var a = await ServerProcess.StartAsync(TestDatabase.NewSqlitePath(), environment);
        await using var b = await ServerProcess.StartAsync(TestDatabase.NewSqlitePath(), environment);
        using var httpA = new HttpClient { BaseAddress = a.Address, Timeout = TimeSpan.FromSeconds(10) };
        using var httpB = new HttpClient { BaseAddress = b.Address, Timeout = TimeSpan.FromSeconds(10) };

        // Load on both: tokens issued, and on A every other one revoked at once. What a node answered 200 to counts.
        var issued = new System.Collections.Concurrent.ConcurrentBag<string>();
        var revoked = new System.Collections.Concurrent.ConcurrentBag<string>();
        var refusedByB = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var acknowledgedByA = 0;
        async Task LoadAsync(HttpClient http, bool revokeSome, bool survivor)
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    var token = await ClientCredentialsAsync(http, service);
                    if (token.Status != HttpStatusCode.OK)
                    {
                        if (survivor)
                        {
                            refusedByB.Add($"{token.Status}: {token.Body}");
                        }

                        continue;
                    }

                    if (revokeSome && i % 2 == 1)
                    {
                        using var revoke = new HttpRequestMessage(HttpMethod.Post, "/oauth/revoke")
                        {
                            Headers = { Authorization = OAuthFlow.Basic(service) },
                            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token.AccessToken }),
                        };
                        using var answer = await http.SendAsync(revoke);
                        if (answer.StatusCode == HttpStatusCode.OK)
                        {
                            revoked.Add(token.AccessToken);
                            continue;
                        }
                    }

                    issued.Add(token.AccessToken);
                    if (!survivor)
                    {
                        Interlocked.Increment(ref acknowledgedByA);
                    }
                }
                catch (Exception exception) when (!survivor && exception is HttpRequestException or TaskCanceledException)
                {
                    // A is gone: what it never answered was never acknowledged.
                }
            }
        }

        // Each node's first request is slow (it compiles its code); the load starts on warm nodes.
        Assert.Equal(HttpStatusCode.OK, (await ClientCredentialsAsync(httpA, service)).Status);
        Assert.Equal(HttpStatusCode.OK, (await ClientCredentialsAsync(httpB, service)).Status);
        var load = Enumerable.Range(0, 3).Select(_ => LoadAsync(httpA, revokeSome: true, survivor: false))
            .Concat(Enumerable.Range(0, 3).Select(_ => LoadAsync(httpB, revokeSome: false, survivor: true)))
            .ToList();
        // A is killed once it has acknowledged tokens and revocations under load; the load goes on 2 s after.
        try
        {
            await Poll.UntilAsync(TimeSpan.FromSeconds(60), () => Task.FromResult(Volatile.Read(ref acknowledgedByA) >= 10 && !revoked.IsEmpty), "A acknowledging under load");
            await a.KillAsync();
            stop.CancelAfter(TimeSpan.FromSeconds(2));
            await Task.WhenAll(load);
        }
        finally
        {
            await stop.CancelAsync();
        }

        Assert.Empty(refusedByB);
        Assert.NotEmpty(revoked);
        using var api = new HttpClient { BaseAddress = b.Address };
        foreach (var token in issued)
        {
            Assert.True(await ActiveOverHttpAsync(api, resourceServer, token), "A token a node answered with was lost.");
        }

        foreach (var token in revoked)
        {
            Assert.False(await ActiveOverHttpAsync(api, resourceServer, token), "A revocation a node acknowledged was lost.");
        }
    }

    private static async Task<bool> ActiveOverHttpAsync(HttpClient api, RegisteredClient resourceServer, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/introspect")
        {
            Headers = { Authorization = OAuthFlow.Basic(resourceServer) },
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        using var response = await api.SendAsync(request);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return answer.RootElement.GetProperty("active").GetBoolean();
    }

    private void SkipUnlessRunning() => Assert.SkipWhen(cluster.SkipReason is not null, cluster.SkipReason ?? "");

    /// <summary>Introspection on <paramref name="node"/> by the platform API (by the client itself for a refresh token).</summary>
    private async Task<bool> ActiveAsync(AuthServerFactory node, string token, RegisteredClient? asClient = null)
    {
        using var api = node.CreateApiClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/introspect")
        {
            Headers = { Authorization = OAuthFlow.Basic(asClient ?? cluster.ResourceServer) },
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        using var response = await api.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return answer.RootElement.GetProperty("active").GetBoolean();
    }

    private static async Task<HttpResponseMessage> ProfileAsync(HttpClient api, string accessToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/user/profile") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", accessToken) } };
        return await api.SendAsync(request);
    }

    private static async Task<HttpResponseMessage> ModelsAsync(HttpClient api, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", key) } };
        return await api.SendAsync(request);
    }

    private static Task<TokenResponse> ClientCredentialsAsync(HttpClient api, RegisteredClient client) =>
        OAuthFlow.TokenAsync(api, client, new Dictionary<string, string> { ["grant_type"] = "client_credentials" });

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.First() : null;
}
