using System.Net;
using System.Text.Json;
using AuthServer.Clients;
using AuthServer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.OAuth;

/// <summary>
/// Introspection answers remembered by the node: served without a database read, only to the client that got them,
/// with the same secret, and dropped the moment a revocation (single, bulk or a secret rotation) is committed, but not
/// by a code or refresh-token redemption.
/// </summary>
public sealed class IntrospectionCacheTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    [Fact]
    public async Task RepeatedIntrospection_IsAnsweredWithoutTheDatabase_AndAlike()
    {
        var (browser, client, tokens) = await OAuthFlow.FullFlowAsync(factory);
        browser.Dispose();
        using var api = factory.CreateApiClient();
        var first = await IntrospectAsync(api, client, client.ClientSecret!, tokens.AccessToken);

        using var commands = new CommandCounter(factory.DatabasePath);
        var second = await IntrospectAsync(api, client, client.ClientSecret!, tokens.AccessToken);

        Assert.Equal(0, commands.Count);
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal(first.Body, second.Body);
        Assert.True(Active(second));
        Assert.Equal("no-store", first.CacheControl);
        Assert.Equal("no-store", second.CacheControl);
    }

    [Theory]
    [InlineData(false)] // the access token itself: one row updated through SaveChanges
    [InlineData(true)] // its refresh token: the whole family, a bulk update of the token rows
    public async Task Revocation_IsSeenOnTheNextCall(bool revokeTheRefreshFamily)
    {
        var (browser, client, tokens) = await OAuthFlow.FullFlowAsync(factory);
        browser.Dispose();
        using var api = factory.CreateApiClient();
        var current = revokeTheRefreshFamily ? await OAuthFlow.RefreshAsync(api, client, tokens.RefreshToken!) : tokens;
        Assert.True(Active(await IntrospectAsync(api, client, client.ClientSecret!, current.AccessToken)));
        Assert.True(Active(await IntrospectAsync(api, client, client.ClientSecret!, current.AccessToken)));

        using var revoke = await PostAsync(
            api, "/oauth/revoke", client, client.ClientSecret!, revokeTheRefreshFamily ? current.RefreshToken! : current.AccessToken);
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);

        Assert.False(Active(await IntrospectAsync(api, client, client.ClientSecret!, current.AccessToken)));
    }

    [Fact]
    public async Task CodeRedemption_WrittenWithItsTokens_KeepsRememberedAnswers()
    {
        var (browser, client, tokens) = await OAuthFlow.FullFlowAsync(factory);
        browser.Dispose();
        using var api = factory.CreateApiClient();
        Assert.True(Active(await IntrospectAsync(api, client, client.ClientSecret!, tokens.AccessToken)));

        // Another code redeemed: its row is updated in the transaction that inserts its tokens (TokenWriteBatch), and
        // nothing a remembered answer says has changed.
        var (other, code, pkce) = await OAuthFlow.NewCodeAsync(factory, "openid read");
        Assert.Equal(HttpStatusCode.OK, (await OAuthFlow.RedeemAsync(api, other, code, pkce.Verifier)).Status);
        using var commands = new CommandCounter(factory.DatabasePath);
        Assert.True(Active(await IntrospectAsync(api, client, client.ClientSecret!, tokens.AccessToken)));
        Assert.Equal(0, commands.Count);
    }

    [Fact]
    public async Task Redemption_KeepsRememberedAnswers_AndARefreshTokensAnswerIsNeverRemembered()
    {
        var (browser, client, tokens) = await OAuthFlow.FullFlowAsync(factory);
        browser.Dispose();
        using var api = factory.CreateApiClient();
        Assert.True(Active(await IntrospectAsync(api, client, client.ClientSecret!, tokens.AccessToken)));

        // Refreshing redeems the refresh token (a token row updated): nothing a remembered answer says has changed.
        var refreshed = await OAuthFlow.RefreshAsync(api, client, tokens.RefreshToken!);
        Assert.Equal(HttpStatusCode.OK, refreshed.Status);
        using (var commands = new CommandCounter(factory.DatabasePath))
        {
            Assert.True(Active(await IntrospectAsync(api, client, client.ClientSecret!, tokens.AccessToken)));
            Assert.Equal(0, commands.Count);
        }

        // A refresh token's answer is worked out each time, since its redemption does not drop remembered answers.
        Assert.True(Active(await IntrospectAsync(api, client, client.ClientSecret!, refreshed.RefreshToken!)));
        using (var commands = new CommandCounter(factory.DatabasePath))
        {
            Assert.True(Active(await IntrospectAsync(api, client, client.ClientSecret!, refreshed.RefreshToken!)));
            Assert.NotEqual(0, commands.Count);
        }

        // And a revocation still drops them.
        using var revoke = await PostAsync(api, "/oauth/revoke", client, client.ClientSecret!, tokens.AccessToken);
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.False(Active(await IntrospectAsync(api, client, client.ClientSecret!, tokens.AccessToken)));
    }

    [Fact]
    public async Task SecretInTheForm_IsCheckedAsInTheHeader()
    {
        var (browser, client, tokens) = await OAuthFlow.FullFlowAsync(factory);
        browser.Dispose();
        using var api = factory.CreateApiClient();
        Assert.True(Active(await IntrospectAsync(api, client, client.ClientSecret!, tokens.AccessToken)));

        Assert.True(Active(await IntrospectInFormAsync(api, client.ClientId, client.ClientSecret!, tokens.AccessToken)));
        var wrong = await IntrospectInFormAsync(api, client.ClientId, client.ClientSecret! + "x", tokens.AccessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.Status);
        Assert.Contains("invalid_client", wrong.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RememberedAnswer_IsNotGivenForAWrongSecret_NorToAnotherClient()
    {
        var (browser, client, tokens) = await OAuthFlow.FullFlowAsync(factory);
        browser.Dispose();
        var unrelated = await factory.RegisterServiceAsync("read");
        using var api = factory.CreateApiClient();
        Assert.True(Active(await IntrospectAsync(api, client, client.ClientSecret!, tokens.AccessToken)));

        var wrong = await IntrospectAsync(api, client, client.ClientSecret! + "x", tokens.AccessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.Status);
        Assert.Contains("invalid_client", wrong.Body, StringComparison.Ordinal);

        // The token was issued to `client`: another client may not see it, remembered answer or not.
        Assert.False(Active(await IntrospectAsync(api, unrelated, unrelated.ClientSecret!, tokens.AccessToken)));
    }

    [Fact]
    public async Task RotatedSecret_RefusesTheOldOneRightAway()
    {
        var service = await factory.RegisterServiceAsync("read");
        using var api = factory.CreateApiClient();
        var token = (await OAuthFlow.TokenAsync(api, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials" })).AccessToken;
        Assert.True(Active(await IntrospectAsync(api, service, service.ClientSecret!, token)));

        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var rotated = await scope.ServiceProvider.GetRequiredService<ClientSecretRotator>()
                .RotateAsync(service.ClientId, TimeSpan.Zero, CancellationToken.None);
            Assert.NotNull(rotated);
            var fresh = await IntrospectAsync(api, service, rotated, token);
            Assert.True(Active(fresh), fresh.Body);
        }

        var old = await IntrospectAsync(api, service, service.ClientSecret!, token);
        Assert.Equal(HttpStatusCode.Unauthorized, old.Status);
    }

    private sealed record Answer(HttpStatusCode Status, string Body, string? CacheControl);

    private static bool Active(Answer answer)
    {
        Assert.True(answer.Status == HttpStatusCode.OK, answer.Body);
        using var document = JsonDocument.Parse(answer.Body);
        return document.RootElement.GetProperty("active").GetBoolean();
    }

    private static async Task<Answer> IntrospectAsync(HttpClient api, RegisteredClient caller, string secret, string token)
    {
        using var response = await PostAsync(api, "/oauth/introspect", caller, secret, token);
        return new Answer(response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers.CacheControl?.ToString());
    }

    private static async Task<Answer> IntrospectInFormAsync(HttpClient api, string clientId, string secret, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/introspect")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["client_id"] = clientId,
                ["client_secret"] = secret,
                ["token"] = token,
            }),
        };
        using var response = await api.SendAsync(request);
        return new Answer(response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers.CacheControl?.ToString());
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient api, string path, RegisteredClient caller, string secret, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Headers = { Authorization = OAuthFlow.Basic(caller with { ClientSecret = secret }) },
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        return await api.SendAsync(request);
    }
}
