using System.Net;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.WebUtilities;

namespace AuthServer.Tests.OAuth;

/// <summary>
/// The token rows of a sign-in are written together (<c>TokenWriteBatch</c>): what is written, in how many trips, and
/// what a client gets when the write fails.
/// </summary>
public sealed class TokenWriteBatchTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    private const string RedirectUri = "https://app.example/callback";

    [Fact]
    public async Task Code_IsOneInsertWithItsPayload_RedemptionAndItsTokensAreOneTransaction()
    {
        var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var client = await factory.RegisterClientAsync();
        var pkce = Pkce.Create();
        var (consent, page) = await browser.GetPageAsync(
            OAuthFlow.AuthorizeUrl(client.ClientId, RedirectUri, "openid offline_access read", pkce));
        Assert.Equal(HttpStatusCode.OK, consent.StatusCode);

        using (var accept = new CommandCounter(factory.DatabasePath))
        {
            var redirect = await browser.SubmitAsync(page, new Dictionary<string, string>(), submitButton: "submit.Accept");
            Assert.Equal(HttpStatusCode.Found, redirect.StatusCode);

            // The code's row goes out once, payload included: no insert-then-update.
            var tokenWrites = TokenWrites(accept);
            Assert.Single(tokenWrites);
            Assert.StartsWith("INSERT", tokenWrites[0].Text.TrimStart(), StringComparison.Ordinal);
            var code = QueryHelpers.ParseQuery(TestBrowser.Location(redirect).Query)["code"].ToString();

            using var redeem = new CommandCounter(factory.DatabasePath);
            using var api = factory.CreateApiClient();
            var tokens = await OAuthFlow.RedeemAsync(api, client, code, pkce.Verifier);
            Assert.Equal(HttpStatusCode.OK, tokens.Status);

            // The code is marked redeemed in the same transaction as the access, refresh and identity tokens issued
            // for it are stored: one commit.
            var writes = TokenWrites(redeem);
            var update = Assert.Single(writes, write => write.Text.TrimStart().StartsWith("UPDATE", StringComparison.Ordinal));

            // Only what changed is written back: not the payload, not the indexed columns; and only if the row is
            // still the one read (its concurrency token).
            Assert.DoesNotContain("\"Payload\"", update.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("\"Subject\"", update.Text, StringComparison.Ordinal);
            Assert.Contains("\"ConcurrencyToken\" = ", update.Text.Split("WHERE")[1], StringComparison.Ordinal);
            // Three rows inserted (SQLite gets one command each; Npgsql sends them as one batch).
            var inserts = writes.Where(write => !ReferenceEquals(write, update)).ToList();
            Assert.Equal(3, inserts.Sum(insert => insert.Text.Split("INSERT INTO").Length - 1));
            Assert.All(inserts, insert => Assert.StartsWith("INSERT", insert.Text.TrimStart(), StringComparison.Ordinal));
            Assert.NotNull(update.Transaction);
            Assert.All(inserts, insert => Assert.Same(update.Transaction, insert.Transaction));

            // And every one of them was written: the refresh token works.
            var refreshed = await OAuthFlow.RefreshAsync(api, client, tokens.RefreshToken!);
            Assert.Equal(HttpStatusCode.OK, refreshed.Status);
        }
    }

    [Fact]
    public async Task SameCode_RedeemedTwiceAtOnce_OnlyOneRedemptionWins()
    {
        var (client, code, pkce) = await OAuthFlow.NewCodeAsync(factory, "openid read");
        using var api = factory.CreateApiClient();

        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => OAuthFlow.RedeemAsync(api, client, code, pkce.Verifier)));

        Assert.Single(answers, answer => answer.Status == HttpStatusCode.OK);
        Assert.All(answers.Where(answer => answer.Status != HttpStatusCode.OK), answer => Assert.Equal("invalid_grant", answer.Error));
    }

    [Fact]
    public async Task TokensCannotBeWritten_RedemptionIs503TemporarilyUnavailable_NoTokenIsReturned_AndTheCodeIsNotSpent()
    {
        var (client, code, pkce) = await OAuthFlow.NewCodeAsync(factory, "openid read");
        using var api = factory.CreateApiClient();

        // A real write failure, from the database itself: every new token row is refused.
        TokenResponse failed;
        await using (await TestDatabase.RefuseInsertsAsync(factory.DatabasePath, "OpenIddictTokens"))
        {
            failed = await OAuthFlow.RedeemAsync(api, client, code, pkce.Verifier);
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.Status);
        Assert.Equal("temporarily_unavailable", failed.Error);
        Assert.False(failed.Body.TryGetProperty("access_token", out _));

        // The code is spent in the commit that stores its tokens, and that commit failed as a whole: the client may
        // retry, and gets the tokens once; the code is then spent.
        var again = await OAuthFlow.RedeemAsync(api, client, code, pkce.Verifier);
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.True(again.Body.TryGetProperty("access_token", out _));
        Assert.Equal("invalid_grant", (await OAuthFlow.RedeemAsync(api, client, code, pkce.Verifier)).Error);
    }

    [Fact]
    public async Task TokensCannotBeWritten_ClientCredentialsIs503TemporarilyUnavailable_AndNoTokenIsReturned()
    {
        // client_credentials is answered before OpenIddict's token pipeline (ClientCredentialsFastPath): the same fault answer.
        var service = await factory.RegisterServiceAsync("read");
        using var api = factory.CreateApiClient();
        var request = new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = "read" };

        TokenResponse failed;
        await using (await TestDatabase.RefuseInsertsAsync(factory.DatabasePath, "OpenIddictTokens"))
        {
            failed = await OAuthFlow.TokenAsync(api, service, request);
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.Status);
        Assert.Equal("temporarily_unavailable", failed.Error);
        Assert.False(failed.Body.TryGetProperty("access_token", out _));
        Assert.Equal(HttpStatusCode.OK, (await OAuthFlow.TokenAsync(api, service, request)).Status);
    }

    private static List<RecordedCommand> TokenWrites(CommandCounter commands) =>
        [.. commands.Commands.Where(command =>
            command.Text.Contains("\"OpenIddictTokens\"", StringComparison.Ordinal)
            && !command.Text.TrimStart().StartsWith("SELECT", StringComparison.Ordinal))];
}
