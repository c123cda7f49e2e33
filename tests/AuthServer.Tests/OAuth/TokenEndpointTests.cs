using System.Net;
using System.Net.Http.Headers;
using AuthServer.Tests.Infrastructure;

namespace AuthServer.Tests.OAuth;

/// <summary>Bad token requests: each answers 4xx with the RFC 6749 error code, never 5xx.</summary>
public class TokenEndpointTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    private const string RedirectUri = "https://app.example/callback";

    [Fact]
    public async Task Exchange_WrongCodeVerifier_IsInvalidGrant()
    {
        var (client, code, _) = await OAuthFlow.NewCodeAsync(factory);
        using var api = factory.CreateApiClient();

        var response = await OAuthFlow.RedeemAsync(api, client, code, Pkce.Create().Verifier);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_grant", response.Error);
    }

    [Fact]
    public async Task Exchange_MissingCodeVerifier_IsInvalidRequest()
    {
        var (client, code, _) = await OAuthFlow.NewCodeAsync(factory);
        using var api = factory.CreateApiClient();

        var response = await OAuthFlow.TokenAsync(api, client, new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = RedirectUri,
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_request", response.Error);
    }

    [Fact]
    public async Task Exchange_ReusedAuthorizationCode_IsRejectedAndRevokesWhatItIssued()
    {
        var (client, code, pkce) = await OAuthFlow.NewCodeAsync(factory);
        using var api = factory.CreateApiClient();
        var first = await OAuthFlow.RedeemAsync(api, client, code, pkce.Verifier);
        Assert.Equal(HttpStatusCode.OK, first.Status);

        var second = await OAuthFlow.RedeemAsync(api, client, code, pkce.Verifier);

        Assert.Equal(HttpStatusCode.BadRequest, second.Status);
        Assert.Equal("invalid_grant", second.Error);

        // The refresh token issued from the code no longer works, and neither does the access token where the
        // server checks its entry (userinfo).
        var refresh = await OAuthFlow.RefreshAsync(api, client, first.RefreshToken!);
        Assert.Equal("invalid_grant", refresh.Error);
        using var userInfo = new HttpRequestMessage(HttpMethod.Get, "/oauth/userinfo");
        userInfo.Headers.Authorization = new AuthenticationHeaderValue("Bearer", first.AccessToken);
        using var userInfoResponse = await api.SendAsync(userInfo);
        Assert.True(userInfoResponse.StatusCode == HttpStatusCode.Unauthorized, userInfoResponse.StatusCode + await userInfoResponse.Content.ReadAsStringAsync() + userInfoResponse.Headers.WwwAuthenticate);
    }

    [Fact]
    public async Task Exchange_CodeRedeemedByAnotherClient_IsInvalidGrant()
    {
        var (_, code, pkce) = await OAuthFlow.NewCodeAsync(factory);
        var other = await factory.RegisterClientAsync(RedirectUri);
        using var api = factory.CreateApiClient();

        var response = await OAuthFlow.RedeemAsync(api, other, code, pkce.Verifier);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_grant", response.Error);
    }

    [Fact]
    public async Task Exchange_CodeWithAnotherRedirectUri_IsInvalidGrant()
    {
        var (client, code, pkce) = await OAuthFlow.NewCodeAsync(factory);
        using var api = factory.CreateApiClient();

        var response = await OAuthFlow.RedeemAsync(api, client, code, pkce.Verifier, "https://app.example/other");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_grant", response.Error);
    }

    [Fact]
    public async Task Exchange_WrongClientSecret_IsInvalidClient()
    {
        var (client, code, pkce) = await OAuthFlow.NewCodeAsync(factory);
        using var api = factory.CreateApiClient();

        var response = await OAuthFlow.TokenAsync(api, client, new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["code_verifier"] = pkce.Verifier,
            ["redirect_uri"] = RedirectUri,
        }, secretOverride: "not-the-secret");

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.Equal("invalid_client", response.Error);
    }

    [Fact]
    public async Task Exchange_ConfidentialClientWithoutSecret_IsInvalidClient()
    {
        var (client, code, pkce) = await OAuthFlow.NewCodeAsync(factory);
        using var api = factory.CreateApiClient();

        var response = await OAuthFlow.RedeemAsync(api, client with { ClientSecret = null }, code, pkce.Verifier);

        Assert.Equal("invalid_client", response.Error);
        Assert.True((int)response.Status is 400 or 401);
    }

    [Fact]
    public async Task Exchange_UnknownCode_IsInvalidGrant()
    {
        var client = await factory.RegisterClientAsync(RedirectUri);
        using var api = factory.CreateApiClient();

        var response = await OAuthFlow.RedeemAsync(api, client, "not-a-code", Pkce.Create().Verifier);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_grant", response.Error);
    }

    [Fact]
    public async Task Refresh_AskingForMoreScope_IsInvalidScope()
    {
        var (_, client, tokens) = await OAuthFlow.FullFlowAsync(factory, "openid offline_access read");
        using var api = factory.CreateApiClient();

        var response = await OAuthFlow.RefreshAsync(api, client, tokens.RefreshToken!, "openid offline_access read profile");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.True("invalid_scope" == response.Error, response.Body.ToString());
    }

    [Fact]
    public async Task Refresh_WithTokenOfAnotherClient_IsInvalidGrant()
    {
        var (_, _, tokens) = await OAuthFlow.FullFlowAsync(factory);
        var other = await factory.RegisterClientAsync(RedirectUri);
        using var api = factory.CreateApiClient();

        var response = await OAuthFlow.RefreshAsync(api, other, tokens.RefreshToken!);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_grant", response.Error);
    }

    [Theory]
    [InlineData("password")]
    [InlineData("urn:ietf:params:oauth:grant-type:device_code")]
    [InlineData("implicit")]
    public async Task Token_UnsupportedGrantType_IsRefused(string grantType)
    {
        var client = await factory.RegisterClientAsync(RedirectUri);
        using var api = factory.CreateApiClient();

        var response = await OAuthFlow.TokenAsync(api, client, new Dictionary<string, string>
        {
            ["grant_type"] = grantType,
            ["username"] = "someone",
            ["password"] = "secret",
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("unsupported_grant_type", response.Error);
    }

    [Fact]
    public async Task Token_ClientCredentialsForAClientNotAllowedIt_IsUnauthorizedClient()
    {
        var client = await factory.RegisterClientAsync(RedirectUri);
        using var api = factory.CreateApiClient();

        var response = await OAuthFlow.TokenAsync(api, client, new Dictionary<string, string> { ["grant_type"] = "client_credentials" });

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("unauthorized_client", response.Error);
    }

    [Fact]
    public async Task Token_OversizedParameter_IsInvalidRequest()
    {
        var client = await factory.RegisterClientAsync(RedirectUri);
        using var api = factory.CreateApiClient();

        var response = await OAuthFlow.TokenAsync(api, client, new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = new string('c', 100_000),
            ["code_verifier"] = "v",
            ["redirect_uri"] = RedirectUri,
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_request", response.Error);
    }

    [Theory]
    [InlineData("GET", null)]
    [InlineData("POST", "application/json")]
    [InlineData("POST", "text/plain")]
    public async Task Token_NotAFormPost_IsRefusedWithoutServerError(string method, string? contentType)
    {
        using var api = factory.CreateApiClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), "/oauth/token");
        if (contentType is not null)
        {
            request.Content = new StringContent("{\"grant_type\":\"authorization_code\"}", System.Text.Encoding.UTF8, contentType);
        }

        using var response = await api.SendAsync(request);

        Assert.InRange((int)response.StatusCode, 400, 499);
    }

    [Theory]
    [InlineData("too many values")]
    [InlineData("grant type without a value")]
    public async Task Token_MalformedClientCredentialsForm_IsRefusedWithoutServerError(string variant)
    {
        var service = await factory.RegisterServiceAsync("read");
        using var api = factory.CreateApiClient();
        var (body, contentType) = variant switch
        {
            "too many values" => ("grant_type=client_credentials&" + string.Join('&', Enumerable.Range(0, 1100).Select(i => $"p{i}=1")),
                "application/x-www-form-urlencoded"),
            _ => ("grant_type", "application/x-www-form-urlencoded"),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8),
        };
        request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        request.Headers.Authorization = OAuthFlow.Basic(service);

        using var response = await api.SendAsync(request);

        Assert.InRange((int)response.StatusCode, 400, 499);
    }
}

/// <summary>Lifetimes shortened through configuration, as an operator would set them.</summary>
public sealed class TokenLifetimeTests
{
    private const string RedirectUri = "https://app.example/callback";

    [Fact]
    public async Task Exchange_ExpiredCode_IsInvalidGrant()
    {
        await using var factory = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
        {
            ["OAuth:AuthorizationCodeLifetime"] = "00:00:01",
        });
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var client = await factory.RegisterClientAsync(RedirectUri);
        var pkce = Pkce.Create();
        var code = await OAuthFlow.GetCodeAsync(browser, OAuthFlow.AuthorizeUrl(client.ClientId, RedirectUri, "openid read", pkce));

        await Task.Delay(TimeSpan.FromSeconds(2.5));
        using var api = factory.CreateApiClient();
        var response = await OAuthFlow.RedeemAsync(api, client, code, pkce.Verifier);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_grant", response.Error);
    }

    [Fact]
    public async Task Refresh_ReplayedAfterLeeway_RevokesTheWholeFamily()
    {
        await using var factory = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
        {
            ["OAuth:RefreshTokenReuseLeeway"] = "00:00:00",
        });
        var (_, client, tokens) = await OAuthFlow.FullFlowAsync(factory);
        using var api = factory.CreateApiClient();
        var rotated = await OAuthFlow.RefreshAsync(api, client, tokens.RefreshToken!);
        Assert.Equal(HttpStatusCode.OK, rotated.Status);

        // The stolen, already-used refresh token comes back.
        var replay = await OAuthFlow.RefreshAsync(api, client, tokens.RefreshToken!);

        Assert.Equal(HttpStatusCode.BadRequest, replay.Status);
        Assert.Equal("invalid_grant", replay.Error);

        // The legitimate holder's newer token is dead too: the whole family is revoked.
        var legitimate = await OAuthFlow.RefreshAsync(api, client, rotated.RefreshToken!);
        Assert.Equal("invalid_grant", legitimate.Error);
    }

    [Fact]
    public async Task Refresh_PastTheAbsoluteLifetime_IsInvalidGrant_AndRotationNeverExtendsIt()
    {
        await using var factory = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
        {
            ["OAuth:RefreshTokenAbsoluteLifetime"] = "00:00:04",
        });
        var (_, client, tokens) = await OAuthFlow.FullFlowAsync(factory);
        using var api = factory.CreateApiClient();

        // Rotation works while the family is young, and hands out a token that is still bound by the family's end.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var rotated = await OAuthFlow.RefreshAsync(api, client, tokens.RefreshToken!);
        Assert.True(rotated.Status == HttpStatusCode.OK, rotated.Body.ToString());
        var again = await OAuthFlow.RefreshAsync(api, client, rotated.RefreshToken!);
        Assert.True(again.Status == HttpStatusCode.OK, again.Body.ToString());

        await Task.Delay(TimeSpan.FromSeconds(4));
        var late = await OAuthFlow.RefreshAsync(api, client, again.RefreshToken!);

        Assert.Equal(HttpStatusCode.BadRequest, late.Status);
        Assert.Equal("invalid_grant", late.Error);
    }

    [Fact]
    public async Task Refresh_ReplayedWithinLeeway_IsAccepted()
    {
        await using var factory = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath());
        var (_, client, tokens) = await OAuthFlow.FullFlowAsync(factory);
        using var api = factory.CreateApiClient();
        Assert.Equal(HttpStatusCode.OK, (await OAuthFlow.RefreshAsync(api, client, tokens.RefreshToken!)).Status);

        // A client that lost the first answer on a flaky network retries within the 30 s leeway.
        var retry = await OAuthFlow.RefreshAsync(api, client, tokens.RefreshToken!);

        Assert.Equal(HttpStatusCode.OK, retry.Status);
    }
}
