using System.Net;
using AuthServer.Tests.Infrastructure;

namespace AuthServer.Tests.OAuth;

/// <summary>
/// Token rows of concurrent <c>client_credentials</c> requests are written together (<c>TokenGroupCommit</c>), and every
/// token returned has its committed row.
/// </summary>
public sealed class TokenGroupCommitTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    [Fact]
    public async Task ConcurrentTokens_AreCommittedTogether_AndEachIsStored()
    {
        var service = await factory.RegisterServiceAsync("read");
        using var api = factory.CreateApiClient();
        using var commands = new CommandCounter(factory.DatabasePath);

        // Arrange: another connection holds SQLite's write lock, so the first write waits and the rest queue behind it.
        List<Task<TokenResponse>> requests;
        await using (var held = await TestDatabase.HoldWriteLockAsync(factory.DatabasePath))
        {
            requests = [.. Enumerable.Range(0, 8).Select(_ => OAuthFlow.TokenAsync(
                api, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = "read" }))];
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            Assert.DoesNotContain(requests, request => request.IsCompleted);
        }

        var answers = await Task.WhenAll(requests);

        // Assert: eight tokens, eight rows, written in fewer transactions than tokens (the first alone, the rest together).
        Assert.All(answers, answer => Assert.Equal(HttpStatusCode.OK, answer.Status));
        var inserts = commands.Commands
            .Where(command => command.Text.Contains("INSERT INTO \"OpenIddictTokens\"", StringComparison.Ordinal))
            .ToList();
        Assert.Equal(8, inserts.Sum(command => CountOf(command.Text, "INSERT INTO \"OpenIddictTokens\"")));
        Assert.InRange(inserts.Select(command => command.Transaction).Distinct().Count(), 1, 2);
        foreach (var answer in answers)
        {
            using var introspection = await ServiceClientTests.IntrospectAsync(api, service, answer.AccessToken);
            Assert.True(introspection.RootElement.GetProperty("active").GetBoolean());
        }
    }

    [Fact]
    public async Task AFailedWrite_FailsEveryRequestItCarried_AndNoneGetsAToken()
    {
        var service = await factory.RegisterServiceAsync("read");
        using var api = factory.CreateApiClient();
        var form = new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = "read" };

        // Arrange: the requests queue behind a held write lock; under it the database is told to refuse every new
        // token row (a real failure, as a full disk gives), then the lock is released and the queued write fails.
        List<Task<TokenResponse>> requests;
        IAsyncDisposable refusal;
        await using (var held = await TestDatabase.HoldWriteLockAsync(factory.DatabasePath))
        {
            refusal = await held.RefuseInsertsAsync("OpenIddictTokens");
            requests = [.. Enumerable.Range(0, 4).Select(_ => OAuthFlow.TokenAsync(api, service, new Dictionary<string, string>(form)))];
            await Task.Delay(TimeSpan.FromMilliseconds(300));
            Assert.DoesNotContain(requests, request => request.IsCompleted);
            await held.ReleaseAsync();
        }

        var answers = await Task.WhenAll(requests);
        await refusal.DisposeAsync();

        // Assert: each is 503 temporarily_unavailable without a token; once the database takes rows again, tokens flow.
        Assert.All(answers, answer =>
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.Status);
            Assert.Equal("temporarily_unavailable", answer.Error);
            Assert.False(answer.Body.TryGetProperty("access_token", out _));
        });
        Assert.Equal(HttpStatusCode.OK, (await OAuthFlow.TokenAsync(api, service, form)).Status);
    }

    private static int CountOf(string text, string value)
    {
        var count = 0;
        for (var index = text.IndexOf(value, StringComparison.Ordinal); index >= 0; index = text.IndexOf(value, index + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
