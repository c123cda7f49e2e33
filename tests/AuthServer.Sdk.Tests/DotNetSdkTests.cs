using System.Diagnostics;
using System.Net;
using AIPlatform.Sdk;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Sdk.Tests;

/// <summary>AIPlatform.Sdk against the real server: results, each exception from a real answer, retries, DI.</summary>
public sealed class DotNetSdkTests(SdkServerFixture fixture) : IClassFixture<SdkServerFixture>
{
    private AIClient Client(string? key = null, int maxRetries = 2, Uri? baseUrl = null, TimeSpan? timeout = null) => new(new AIClientOptions
    {
        ApiKey = key ?? fixture.ReadKey,
        BaseUrl = baseUrl ?? fixture.BaseAddress,
        MaxRetries = maxRetries,
        Timeout = timeout ?? TimeSpan.FromSeconds(60),
    });

    [Fact]
    public async Task ModelsList_ReadKey_GivesTheListWithRequestIdAndRateLimit()
    {
        using var client = Client();
        var models = await client.Models.ListAsync(TestContext.Current.CancellationToken);

        Assert.Equal("list", models.Object);
        Assert.NotEmpty(models.Data);
        Assert.All(models.Data, model => Assert.Equal("model", model.Object));
        Assert.Equal(200, models.Response.Status);
        Assert.False(string.IsNullOrEmpty(models.Response.RequestId));
        Assert.Equal(100, models.Response.RateLimit.Limit);
        Assert.True(models.Response.RateLimit.Remaining < 100);
    }

    [Fact]
    public async Task UserProfile_ReadKey_IsTheKeyOwnersAccount()
    {
        using var client = Client();
        var profile = await client.User.GetProfileAsync(TestContext.Current.CancellationToken);
        Assert.Equal(fixture.Email, profile.Email);
        Assert.Equal("Ada Lovelace", profile.Name);
    }

    [Fact]
    public async Task Environment_KeyAndAddress_AreTheDefaults()
    {
        Environment.SetEnvironmentVariable(AIClientOptions.ApiKeyVariable, fixture.ReadKey);
        Environment.SetEnvironmentVariable(AIClientOptions.BaseUrlVariable, fixture.BaseAddress.ToString());
        try
        {
            using var client = new AIClient();
            Assert.Equal("list", (await client.Models.ListAsync(TestContext.Current.CancellationToken)).Object);
        }
        finally
        {
            Environment.SetEnvironmentVariable(AIClientOptions.ApiKeyVariable, null);
            Environment.SetEnvironmentVariable(AIClientOptions.BaseUrlVariable, null);
        }

        var missing = Assert.Throws<InvalidOperationException>(() => new AIClient(new AIClientOptions { BaseUrl = fixture.BaseAddress }));
        Assert.Contains(AIClientOptions.ApiKeyVariable, missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidKey_AuthenticationException_WithTypeAndRequestId()
    {
        using var client = Client(key: "sk-not-a-real-key", maxRetries: 0);
        var error = await Assert.ThrowsAsync<AuthenticationException>(() => client.Models.ListAsync(TestContext.Current.CancellationToken));
        Assert.Equal(HttpStatusCode.Unauthorized, error.Status);
        Assert.Equal("invalid_token", error.Type);
        Assert.False(string.IsNullOrEmpty(error.RequestId));
    }

    [Fact]
    public async Task KeyWithoutScope_PermissionDeniedException()
    {
        using var client = Client(key: fixture.WriteOnlyKey);
        var error = await Assert.ThrowsAsync<PermissionDeniedException>(() => client.Models.ListAsync(TestContext.Current.CancellationToken));
        Assert.Equal("insufficient_scope", error.Type);
    }

    [Fact]
    public async Task UnknownPath_NotFoundException()
    {
        using var client = Client(baseUrl: new Uri(fixture.BaseAddress, "/no-such-prefix/"));
        await Assert.ThrowsAsync<NotFoundException>(() => client.Models.ListAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task RateLimitSpent_RateLimitException_WithRetryAfterFromTheRealLimiter()
    {
        var email = OAuthFlow.NewEmail();
        using var browser = fixture.NewBrowser();
        await OAuthFlow.SignUpAsync(browser, email);
        var tier = await CliRunner.RunAsync(
            fixture.Server.DatabasePath, "users", "set-tier", "--email", email, "--tier", "enterprise", "--requests-per-minute", "2");
        Assert.True(tier.ExitCode == 0, tier.Stderr);
        var key = await Dashboard.CreateKeyAsync(browser, scopes: ["read"]);

        using var client = Client(key: key, maxRetries: 0);
        await client.Models.ListAsync(TestContext.Current.CancellationToken);
        await client.Models.ListAsync(TestContext.Current.CancellationToken);
        var error = await Assert.ThrowsAsync<RateLimitException>(() => client.Models.ListAsync(TestContext.Current.CancellationToken));
        Assert.Equal("rate_limit_exceeded", error.Type);
        Assert.InRange(error.RetryAfter!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Answer429_RetryWaitsWhatRetryAfterSays()
    {
        var watch = new Stopwatch();
        TimeSpan? waited = null;
        await using var stub = await StubServer.StartAsync(async (context, call) =>
        {
            if (call == 1)
            {
                watch.Start();
                context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.Response.Headers.RetryAfter = "1";
                return;
            }

            waited = watch.Elapsed;
            await StubServer.ForwardAsync(context, fixture.BaseAddress);
        });

        using var client = Client(baseUrl: stub.Address);
        Assert.Equal("list", (await client.Models.ListAsync(TestContext.Current.CancellationToken)).Object);
        // The server's clock and the client's differ by the answer's trip: a little under the second is the same wait.
        Assert.True(waited >= TimeSpan.FromMilliseconds(900), $"retried after {waited} ({stub.Calls} calls)");
    }

    [Fact]
    public async Task DroppedConnection_IsRetried_AndTheRetryReachesTheServer()
    {
        await using var stub = await StubServer.StartAsync(async (context, call) =>
        {
            if (call == 1)
            {
                context.Abort();
                return;
            }

            await StubServer.ForwardAsync(context, fixture.BaseAddress);
        });

        using var client = Client(baseUrl: stub.Address);
        Assert.Equal("list", (await client.Models.ListAsync(TestContext.Current.CancellationToken)).Object);
        Assert.Equal(2, stub.Calls);
    }

    [Fact]
    public async Task ServerError_RetriedUpToMaxRetries_ThenInternalServerException()
    {
        await using var stub = await StubServer.StartAsync((context, _) =>
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return context.Response.WriteAsync("""{"error":{"type":"service_unavailable","message":"down"}}""");
        });

        using var client = Client(baseUrl: stub.Address, maxRetries: 2);
        var error = await Assert.ThrowsAsync<InternalServerException>(() => client.Models.ListAsync(TestContext.Current.CancellationToken));
        Assert.Equal("service_unavailable", error.Type);
        Assert.Equal(3, stub.Calls);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(404)]
    public async Task ClientErrors_AreNeverRetried(int status)
    {
        await using var stub = await StubServer.StartAsync((context, _) =>
        {
            context.Response.StatusCode = status;
            return Task.CompletedTask;
        });

        using var client = Client(baseUrl: stub.Address, maxRetries: 2);
        await Assert.ThrowsAnyAsync<AIPlatformException>(() => client.Models.ListAsync(TestContext.Current.CancellationToken));
        Assert.Equal(1, stub.Calls);
    }

    [Fact]
    public async Task NoAnswer_ConnectionException_TooSlow_TimeoutException()
    {
        using var closed = Client(baseUrl: new Uri("http://127.0.0.1:9/"), maxRetries: 0);
        await Assert.ThrowsAsync<APIConnectionException>(() => closed.Models.ListAsync(TestContext.Current.CancellationToken));

        await using var slow = await StubServer.StartAsync((context, _) => Task.Delay(TimeSpan.FromSeconds(5), context.RequestAborted));
        using var client = Client(baseUrl: slow.Address, maxRetries: 0, timeout: TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAsync<APIConnectionTimeoutException>(() => client.Models.ListAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task AddAIClient_TypedClientFromTheFactory_CallsTheApi()
    {
        var services = new ServiceCollection();
        services.AddAIClient(options =>
        {
            options.ApiKey = fixture.ReadKey;
            options.BaseUrl = fixture.BaseAddress;
        });
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<AIClient>();
        Assert.Equal("list", (await client.Models.ListAsync(TestContext.Current.CancellationToken)).Object);
    }

    [Fact]
    public async Task Key_AppearsInNoTextTheSdkProduces()
    {
        var options = new AIClientOptions { ApiKey = fixture.ReadKey, BaseUrl = fixture.BaseAddress, MaxRetries = 0 };
        using var client = new AIClient(options);
        Assert.DoesNotContain(fixture.ReadKey, options.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.ReadKey, client.ToString(), StringComparison.Ordinal);

        using var refused = Client(key: fixture.ReadKey + "x", maxRetries: 0);
        var error = await Assert.ThrowsAsync<AuthenticationException>(() => refused.Models.ListAsync(TestContext.Current.CancellationToken));
        using var offline = Client(baseUrl: new Uri("http://127.0.0.1:9/"), maxRetries: 0);
        var unreachable = await Assert.ThrowsAsync<APIConnectionException>(() => offline.Models.ListAsync(TestContext.Current.CancellationToken));
        foreach (var exception in new Exception[] { error, unreachable })
        {
            Assert.DoesNotContain(fixture.ReadKey, exception.ToString(), StringComparison.Ordinal);
        }
    }
}
