using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using AuthServer.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AuthServer.Tests.PlatformApi;

/// <summary><c>GET /v1/user/profile</c>: RFC 6750 errors as JSON, never HTML or a stack trace.</summary>
public sealed class ProfileEndpointTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    [Fact]
    public async Task Profile_NoAuthorizationHeader_Is401_WithAChallengeWithoutAnErrorCode()
    {
        using var api = factory.CreateApiClient();

        using var response = await api.GetAsync("/v1/user/profile");

        // RFC 6750 §3.1: a request without credentials is told how to authenticate, not that its token is invalid.
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer realm=\"platform\"", response.Headers.WwwAuthenticate.ToString());
        var text = await response.Content.ReadAsStringAsync();
        using var body = JsonDocument.Parse(text);
        Assert.Equal("invalid_token", body.RootElement.GetProperty("error").GetProperty("type").GetString());

        // Written as people read it: no \u0027 for ' nor \u003C for <.
        Assert.Contains("send 'Authorization: Bearer <", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET", "/v1/nope", HttpStatusCode.NotFound, "not_found")]
    [InlineData("GET", "/v1/", HttpStatusCode.NotFound, "not_found")]
    [InlineData("POST", "/v1/models", HttpStatusCode.MethodNotAllowed, "method_not_allowed")]
    public async Task UnknownRoutesAndMethods_AnswerInTheApisErrorShape(string method, string path, HttpStatusCode status, string type)
    {
        using var api = factory.CreateApiClient();

        using var response = await api.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(type, body.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("error").GetProperty("request_id").GetString()));
    }

    [Theory]
    [InlineData("Bearer not-a-jwt")]
    [InlineData("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.")]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer ")]
    public async Task Profile_MalformedCredentials_Is401InvalidToken(string authorization)
    {
        using var api = factory.CreateApiClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/user/profile");
        request.Headers.TryAddWithoutValidation("Authorization", authorization);

        using var response = await api.SendAsync(request);

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_token");
    }

    [Fact]
    public async Task Profile_TokenSignedByAnotherKey_Is401InvalidToken()
    {
        var (_, _, tokens) = await OAuthFlow.FullFlowAsync(factory);
        var genuine = new JsonWebToken(tokens.AccessToken);

        // Same claims, same header shape, but signed by a key the server never had.
        using var forger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var forged = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = genuine.Issuer,
            Audience = "platform-api",
            Claims = new Dictionary<string, object> { ["sub"] = genuine.Subject, ["scope"] = "read profile" },
            Expires = DateTime.UtcNow.AddHours(1),
            TokenType = "at+jwt",
            SigningCredentials = new SigningCredentials(
                new ECDsaSecurityKey(forger) { KeyId = genuine.Kid }, SecurityAlgorithms.EcdsaSha256),
        });

        using var response = await GetProfileAsync(forged);

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_token");
    }

    [Fact]
    public async Task Profile_TamperedPayload_Is401InvalidToken()
    {
        var (_, _, tokens) = await OAuthFlow.FullFlowAsync(factory);
        var parts = tokens.AccessToken.Split('.');
        var payload = JsonSerializer.Deserialize<Dictionary<string, object>>(Base64UrlEncoder.Decode(parts[1]))!;
        payload["sub"] = "someone-else";
        var tampered = $"{parts[0]}.{Base64UrlEncoder.Encode(JsonSerializer.Serialize(payload))}.{parts[2]}";

        using var response = await GetProfileAsync(tampered);

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_token");
    }

    [Fact]
    public async Task Profile_IdTokenInsteadOfAccessToken_Is401InvalidToken()
    {
        var (_, _, tokens) = await OAuthFlow.FullFlowAsync(factory);

        using var response = await GetProfileAsync(tokens.IdToken!);

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_token");
    }

    [Fact]
    public async Task Profile_TokenWithoutReadOrProfileScope_Is403InsufficientScope()
    {
        var (_, _, tokens) = await OAuthFlow.FullFlowAsync(factory, "openid email");

        using var response = await GetProfileAsync(tokens.AccessToken);

        await AssertErrorAsync(response, HttpStatusCode.Forbidden, "insufficient_scope");
        Assert.Contains("scope=\"read profile\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Profile_TokenWithProfileScopeOnly_IsAccepted()
    {
        var (_, _, tokens) = await OAuthFlow.FullFlowAsync(factory, "openid profile");

        using var response = await GetProfileAsync(tokens.AccessToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<HttpResponseMessage> GetProfileAsync(string token)
    {
        using var api = factory.CreateApiClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/user/profile");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await api.SendAsync(request);
    }

    internal static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string error)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var challenge = response.Headers.WwwAuthenticate.ToString();
        Assert.StartsWith("Bearer", challenge, StringComparison.Ordinal);
        Assert.Contains($"error=\"{error}\"", challenge, StringComparison.Ordinal);

        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(error, body.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(body.RootElement.GetProperty("error").GetProperty("message").GetString()));
    }

    /// <summary>The error shape of <c>/oauth</c> and <c>/admin</c>: <c>{"error","error_description"}</c>, RFC 6750's header.</summary>
    internal static async Task AssertOAuthErrorAsync(HttpResponseMessage response, HttpStatusCode status, string error)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var challenge = response.Headers.WwwAuthenticate.ToString();
        Assert.StartsWith("Bearer", challenge, StringComparison.Ordinal);
        Assert.Contains($"error=\"{error}\"", challenge, StringComparison.Ordinal);

        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(error, body.RootElement.GetProperty("error").GetString());
        Assert.False(string.IsNullOrWhiteSpace(body.RootElement.GetProperty("error_description").GetString()));
    }
}
