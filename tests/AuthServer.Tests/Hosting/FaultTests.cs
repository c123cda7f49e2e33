using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using AuthServer.ApiKeys;
using AuthServer.Clients;
using AuthServer.Data;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.Hosting;

/// <summary>
/// Faults a real process goes through: killed (SIGKILL) under load, its database locked away from it, stopped
/// (SIGTERM) under load. Nothing it acknowledged is lost, and it never answers 500.
/// </summary>
public sealed class FaultTests
{
    [Fact]
    public async Task KilledUnderLoad_ThenRestarted_EveryAnsweredTokenIsActive_AndNoAnsweredCodeRedeemsAgain()
    {
        var port = ServerProcess.FreePort();
        var issuer = $"http://127.0.0.1:{port}/";
        var path = TestDatabase.NewSqlitePath();
        RegisteredClient service;
        var codes = new List<(RegisteredClient Client, string Code, Pkce Pkce)>();
        await using (var factory = new ConfiguredAuthServerFactory(path, new Dictionary<string, string?> { ["OAuth:Issuer"] = issuer }))
        {
            service = await factory.RegisterServiceAsync("read");
            for (var i = 0; i < 30; i++)
            {
                codes.Add(await OAuthFlow.NewCodeAsync(factory));
            }
        }

        var settings = new Dictionary<string, string> { ["OAuth__Issuer"] = issuer };
        var tokens = new ConcurrentBag<(RegisteredClient Caller, string Token)>();
        var redeemed = new ConcurrentBag<int>();
        await using (var server = await ServerProcess.StartAsync(path, settings, port))
        {
            using var http = new HttpClient { BaseAddress = server.Address };
            using var stop = new CancellationTokenSource();
            var load = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        var response = await OAuthFlow.TokenAsync(http, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials" });
                        Assert.Equal(HttpStatusCode.OK, response.Status);
                        tokens.Add((service, response.AccessToken));
                    }
                    catch (HttpRequestException)
                    {
                        return; // the server is gone: nothing answered, nothing acknowledged
                    }
                }
            })).ToList();
            load.Add(Task.Run(async () =>
            {
                for (var i = 0; i < codes.Count && !stop.IsCancellationRequested; i++)
                {
                    try
                    {
                        var (client, code, pkce) = codes[i];
                        var response = await OAuthFlow.RedeemAsync(http, client, code, pkce.Verifier);
                        Assert.Equal(HttpStatusCode.OK, response.Status);
                        redeemed.Add(i);
                        tokens.Add((client, response.AccessToken));
                    }
                    catch (HttpRequestException)
                    {
                        return;
                    }
                }
            }));

            // Kill mid-load: once some codes are redeemed and while others are still being redeemed.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (redeemed.Count < 10 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            await server.KillAsync();
            await stop.CancelAsync();
            await Task.WhenAll(load);
        }

        Assert.True(redeemed.Count >= 10, "Too few codes were redeemed before the kill.");
        Assert.True(redeemed.Count < codes.Count, "The kill came after the last code: it proves nothing about codes in flight.");

        await using var restarted = await ServerProcess.StartAsync(path, settings, port);
        using var after = new HttpClient { BaseAddress = restarted.Address };
        // Each token is introspected by the client it was issued to (another client would learn nothing of it).
        foreach (var (caller, token) in tokens)
        {
            Assert.True(await IsActiveAsync(after, caller, token), "A token answered before the kill is not active after it.");
        }

        foreach (var index in redeemed)
        {
            var (client, code, pkce) = codes[index];
            var again = await OAuthFlow.RedeemAsync(after, client, code, pkce.Verifier);
            Assert.Equal(HttpStatusCode.BadRequest, again.Status);
            Assert.Equal("invalid_grant", again.Error);
        }
    }

    [Fact]
    public async Task DatabaseLockedAway_TokenRequestsAre503WithRetryAfter_Never500_AndServiceComesBack()
    {
        Assert.SkipUnless(SuiteDatabase.IsSqlite, SuiteDatabase.SqliteOnly);
        var path = TestDatabase.NewSqlitePath();
        RegisteredClient service;
        await using (var factory = new ConfiguredAuthServerFactory(path))
        {
            service = await factory.RegisterServiceAsync("read");
        }

        // Writes give up after 2 s of waiting for a lock (the default is 30 s), so the test is short.
        await using var server = await ServerProcess.StartAsync(path, new Dictionary<string, string>
        {
            ["Database__ConnectionString"] = $"Data Source={path};Default Timeout=2",
        });
        using var http = new HttpClient { BaseAddress = server.Address };
        var form = new Dictionary<string, string> { ["grant_type"] = "client_credentials" };
        var before = await OAuthFlow.TokenAsync(http, service, new Dictionary<string, string>(form));
        Assert.Equal(HttpStatusCode.OK, before.Status);

        var answers = new List<(HttpStatusCode Status, string? RetryAfter, string Body)>();
        await using (var writeLock = await TestDatabase.HoldWriteLockAsync(path))
        {
            answers.AddRange(await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "oauth/token")
                {
                    Headers = { Authorization = OAuthFlow.Basic(service) },
                    Content = new FormUrlEncodedContent(form),
                };
                using var response = await http.SendAsync(request);
                return (response.StatusCode, response.Headers.RetryAfter?.ToString(), await response.Content.ReadAsStringAsync());
            })));
        }

        Assert.All(answers, answer =>
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.Status);
            Assert.NotNull(answer.RetryAfter);
            Assert.Contains("temporarily_unavailable", answer.Body, StringComparison.Ordinal);
            Assert.DoesNotContain("access_token", answer.Body, StringComparison.Ordinal);
        });

        // Back by itself once the lock is gone; the token from before is still good.
        var after = await OAuthFlow.TokenAsync(http, service, new Dictionary<string, string>(form));
        Assert.Equal(HttpStatusCode.OK, after.Status);
        Assert.True(await IsActiveAsync(http, service, before.AccessToken));
        Assert.True(await IsActiveAsync(http, service, after.AccessToken));
        Assert.DoesNotContain("status 500", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GracefulStopUnderLoad_FinishesInFlightRequests_AndFlushesUsageAndLastUsed()
    {
        var path = TestDatabase.NewSqlitePath();
        string secret, keyId;
        await using (var factory = new ConfiguredAuthServerFactory(path))
        {
            await using var scope = factory.Services.CreateAsyncScope();
            var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
            var email = OAuthFlow.NewEmail();
            var owner = new ApplicationUser { UserName = email, Email = email, Tier = AccountTiers.Enterprise, RequestsPerMinute = 1_000_000 };
            Assert.True((await users.CreateAsync(owner)).Succeeded);
            var key = await scope.ServiceProvider.GetRequiredService<ApiKeyService>()
                .CreateAsync(owner.Id, "load", ["read"], null, owner.Id, CancellationToken.None);
            (secret, keyId) = (key.Secret, key.Key.Id);
        }

        // Usage would be written every 5 minutes: only the stop writes it.
        await using var server = await ServerProcess.StartAsync(path, new Dictionary<string, string> { ["Usage__FlushInterval"] = "00:05:00" });
        using var http = new HttpClient { BaseAddress = server.Address };
        var answered = 0;
        var sent = 0;
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                Interlocked.Increment(ref sent);
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, "v1/models") { Headers = { Authorization = new("Bearer", secret) } };
                    using var response = await http.SendAsync(request);
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    await response.Content.ReadAsStringAsync();
                    Interlocked.Increment(ref answered);
                }
                catch (HttpRequestException)
                {
                    return; // refused once the server stopped listening
                }
            }
        })).ToList();

        while (Volatile.Read(ref answered) < 200)
        {
            await Task.Delay(10);
        }

        await server.TerminateAsync(TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        await Task.WhenAll(load);
        Assert.Equal(0, server.ExitCode);

        await using var reader = new ConfiguredAuthServerFactory(path);
        await using var check = reader.Services.CreateAsyncScope();
        var context = check.ServiceProvider.GetRequiredService<AuthDbContext>();
        var counted = await context.UsageRecords.Where(usage => usage.Credential == $"key:{keyId}").SumAsync(usage => usage.Count);
        Assert.InRange(counted, answered, sent);
        Assert.NotNull((await context.ApiKeys.SingleAsync(key => key.Id == keyId)).LastUsedAt);
    }

    private static async Task<bool> IsActiveAsync(HttpClient http, RegisteredClient caller, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "oauth/introspect")
        {
            Headers = { Authorization = OAuthFlow.Basic(caller) },
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        using var response = await http.SendAsync(request);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("active").GetBoolean();
    }
}
