using System.Net;
using System.Text.Json;
using AuthServer.Clients;
using AuthServer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;

namespace AuthServer.Tests.OAuth;

/// <summary>Services and resource servers: client credentials, introspection (tokens and API keys), revocation.</summary>
public class ServiceClientTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    [Fact]
    public async Task ClientCredentials_TokenCarriesTheClientsScopesOnly()
    {
        var service = await factory.RegisterServiceAsync("read");
        using var api = factory.CreateApiClient();

        var tokens = await OAuthFlow.TokenAsync(api, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials" });

        Assert.Equal(HttpStatusCode.OK, tokens.Status);
        Assert.Null(tokens.RefreshToken);
        var jwt = new JsonWebToken(tokens.AccessToken);
        Assert.Equal(service.ClientId, jwt.Subject);
        Assert.Equal("Service", jwt.GetClaim("name").Value);
        Assert.Equal("read", jwt.GetClaim("scope").Value);
        Assert.Equal(["platform-api"], jwt.Audiences);
        Assert.Equal(HttpStatusCode.OK, (await Dashboard.CallAsync(api, "/v1/models", tokens.AccessToken)).StatusCode);
    }

    [Fact]
    public async Task ClientCredentials_TokenIsStored_AndRevocable()
    {
        // Issued by the fast path, not the controller: the token row is written all the same.
        var service = await factory.RegisterServiceAsync("read");
        using var api = factory.CreateApiClient();
        var tokens = await OAuthFlow.TokenAsync(api, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = "read" });
        Assert.Equal(HttpStatusCode.OK, tokens.Status);

        using (var before = await IntrospectAsync(api, service, tokens.AccessToken))
        {
            Assert.True(before.RootElement.GetProperty("active").GetBoolean());
        }

        using var revoked = await RevokeAsync(api, service, tokens.AccessToken);
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        using var after = await IntrospectAsync(api, service, tokens.AccessToken);
        Assert.False(after.RootElement.GetProperty("active").GetBoolean());
    }

    [Fact]
    public async Task ClientCredentials_ScopeNotGranted_IsRefused()
    {
        var service = await factory.RegisterServiceAsync("read");
        using var api = factory.CreateApiClient();

        var tokens = await OAuthFlow.TokenAsync(api, service, new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["scope"] = "read write",
        });

        Assert.Equal(HttpStatusCode.BadRequest, tokens.Status);
        Assert.Equal("invalid_scope", tokens.Error);
    }

    [Fact]
    public async Task UnknownClient_AndWrongSecret_GetTheSameAnswer_AtEveryEndpoint()
    {
        var service = await factory.RegisterServiceAsync("read");
        var unknown = new RegisteredClient("no-such-client", "some-secret");
        var wrong = service with { ClientSecret = "not-the-secret" };
        using var api = factory.CreateApiClient();

        foreach (var (path, form) in new[]
        {
            ("/oauth/token", new Dictionary<string, string> { ["grant_type"] = "client_credentials" }),
            ("/oauth/introspect", new Dictionary<string, string> { ["token"] = "some-token" }),
            ("/oauth/revoke", new Dictionary<string, string> { ["token"] = "some-token" }),
        })
        {
            var answers = new List<string>();
            foreach (var client in new[] { unknown, wrong })
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, path)
                {
                    Headers = { Authorization = OAuthFlow.Basic(client) },
                    Content = new FormUrlEncodedContent(form),
                };
                using var response = await api.SendAsync(request);
                // The same answer but for the request's own id.
                var body = System.Text.RegularExpressions.Regex.Replace(
                    await response.Content.ReadAsStringAsync(), "\"request_id\":\"[^\"]*\"", "\"request_id\":\"…\"");
                answers.Add($"{(int)response.StatusCode} {body}");
            }

            Assert.Contains("invalid_client", answers[0], StringComparison.Ordinal);
            Assert.Equal(answers[0], answers[1]);
        }
    }

    [Fact]
    public async Task ClientCredentials_PublicClient_CannotBeRegistered()
    {
        var error = await Assert.ThrowsAsync<ClientRegistrationException>(() => factory.RegisterAsync(
            new ClientRegistration("Leaky", [], IsPublic: true, ["read"], GrantTypes: ["client_credentials"])));

        Assert.Contains("public client cannot use client_credentials", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Introspect_ValidAccessToken_ByItsPresenter_IsActiveWithItsClaims()
    {
        var (browser, client, tokens) = await OAuthFlow.FullFlowAsync(factory);
        browser.Dispose();
        using var api = factory.CreateApiClient();

        using var answer = await IntrospectAsync(api, client, tokens.AccessToken);

        var body = answer.RootElement;
        Assert.True(body.GetProperty("active").GetBoolean(), body.GetRawText());
        Assert.True(body.TryGetProperty("client_id", out _), body.GetRawText());
        Assert.Equal(client.ClientId, body.GetProperty("client_id").GetString());
        Assert.Equal(new JsonWebToken(tokens.AccessToken).Subject, body.GetProperty("sub").GetString());
        Assert.Equal("platform-api", body.GetProperty("aud").GetString());
        Assert.True(body.TryGetProperty("iss", out _), body.GetRawText());
        Assert.Equal("https://localhost/", body.GetProperty("iss").GetString());
        Assert.True(body.GetProperty("exp").GetInt64() > DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Assert.True(body.TryGetProperty("iat", out _));
    }

    [Fact]
    public async Task Introspect_ValidAccessToken_ByTheResourceServerItIsFor_IncludesTheScope()
    {
        var (browser, _, tokens) = await OAuthFlow.FullFlowAsync(factory, "openid profile read");
        browser.Dispose();

        // The platform API's own resource server, recognised as the tokens' audience by its client_id.
        var resourceServer = await factory.ResourceServerAsync();
        using var api = factory.CreateApiClient();

        using var answer = await IntrospectAsync(api, resourceServer, tokens.AccessToken);

        Assert.True(answer.RootElement.GetProperty("active").GetBoolean());
        Assert.Equal(["openid", "profile", "read"], answer.RootElement.GetProperty("scope").GetString()!.Split(' ').Order());
    }

    [Fact]
    public async Task Introspect_AccessTokenOfAnotherClient_ByAnUnrelatedClient_IsInactive()
    {
        var (browser, _, tokens) = await OAuthFlow.FullFlowAsync(factory);
        browser.Dispose();
        var unrelated = await factory.RegisterServiceAsync("read");
        using var api = factory.CreateApiClient();

        using var answer = await IntrospectAsync(api, unrelated, tokens.AccessToken);

        Assert.False(answer.RootElement.GetProperty("active").GetBoolean());
    }

    [Theory]
    [InlineData("not-a-token")]
    [InlineData("eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.")]
    [InlineData("aip_thisisnotarealkeyatallxxxxxxxxxxxxxx")]
    public async Task Introspect_MalformedOrForeignToken_IsInactive(string token)
    {
        var service = await factory.RegisterServiceAsync("read");
        using var api = factory.CreateApiClient();

        using var answer = await IntrospectAsync(api, service, token);

        var property = Assert.Single(answer.RootElement.EnumerateObject());
        Assert.Equal(("active", JsonValueKind.False), (property.Name, property.Value.ValueKind));
    }

    [Fact]
    public async Task Introspect_WrongClientSecret_IsInvalidClient()
    {
        var service = await factory.RegisterServiceAsync("read");
        using var api = factory.CreateApiClient();

        foreach (var token in new[] { "whatever", "aip_0000000000000000000000000000000000000" })
        {
            using var request = IntrospectionRequest(service with { ClientSecret = "wrong" }, token);
            using var response = await api.SendAsync(request);

            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Contains("invalid_client", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Introspect_ApiKey_AnswersActiveScopeSubExpAndTokenType()
    {
        using var developer = await OAuthFlow.SignedUpBrowserAsync(factory);
        var key = await Dashboard.CreateKeyAsync(developer, "introspected", ["read", "write"]);
        var resourceServer = await factory.ResourceServerAsync();
        using var api = factory.CreateApiClient();

        using var answer = await IntrospectAsync(api, resourceServer, key);

        var body = answer.RootElement;
        Assert.True(body.GetProperty("active").GetBoolean());
        Assert.Equal("api_key", body.GetProperty("token_type").GetString());
        Assert.Equal("read write", body.GetProperty("scope").GetString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("sub").GetString()));
        Assert.InRange(body.GetProperty("exp").GetInt64(), DateTimeOffset.UtcNow.AddDays(89).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddDays(91).ToUnixTimeSeconds());

        // Revoked: inactive, like any unknown key.
        var (_, page) = await developer.GetPageAsync("/dashboard/keys");
        await developer.SubmitAsync(page, new Dictionary<string, string>(), "form.revoke");
        using var after = await IntrospectAsync(api, resourceServer, key);
        Assert.False(after.RootElement.GetProperty("active").GetBoolean());
        Assert.Single(after.RootElement.EnumerateObject());
    }

    [Fact]
    public async Task Revoke_RefreshToken_EndsTheWholeFamily()
    {
        var (browser, client, tokens) = await OAuthFlow.FullFlowAsync(factory);
        browser.Dispose();
        using var api = factory.CreateApiClient();
        var rotated = await OAuthFlow.RefreshAsync(api, client, tokens.RefreshToken!);
        Assert.Equal(HttpStatusCode.OK, rotated.Status);

        using var revoke = await RevokeAsync(api, client, rotated.RefreshToken!);

        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.Equal("invalid_grant", (await OAuthFlow.RefreshAsync(api, client, rotated.RefreshToken!)).Error);
        using var introspected = await IntrospectAsync(api, client, rotated.AccessToken);
        Assert.False(introspected.RootElement.GetProperty("active").GetBoolean());
    }

    [Fact]
    public async Task Revoke_AccessToken_MakesItInactive()
    {
        var (browser, client, tokens) = await OAuthFlow.FullFlowAsync(factory);
        browser.Dispose();
        using var api = factory.CreateApiClient();

        using var revoke = await RevokeAsync(api, client, tokens.AccessToken);

        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        using var introspected = await IntrospectAsync(api, client, tokens.AccessToken);
        Assert.False(introspected.RootElement.GetProperty("active").GetBoolean());
    }

    [Fact]
    public async Task Discovery_ListsIntrospectionRevocationAndOnlySecretAuthMethods()
    {
        using var api = factory.CreateApiClient();

        using var metadata = JsonDocument.Parse(await api.GetStringAsync("/.well-known/openid-configuration"));

        Assert.Equal("https://localhost/oauth/introspect", metadata.RootElement.GetProperty("introspection_endpoint").GetString());
        Assert.Equal("https://localhost/oauth/revoke", metadata.RootElement.GetProperty("revocation_endpoint").GetString());
        Assert.Equal(
            ["client_secret_basic", "client_secret_post"],
            metadata.RootElement.GetProperty("token_endpoint_auth_methods_supported").EnumerateArray().Select(e => e.GetString()).Order());
    }

    internal static async Task<JsonDocument> IntrospectAsync(HttpClient api, RegisteredClient caller, string token)
    {
        using var request = IntrospectionRequest(caller, token);
        using var response = await api.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body);
    }

    private static HttpRequestMessage IntrospectionRequest(RegisteredClient caller, string token) =>
        new(HttpMethod.Post, "/oauth/introspect")
        {
            Headers = { Authorization = OAuthFlow.Basic(caller) },
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };

    private static async Task<HttpResponseMessage> RevokeAsync(HttpClient api, RegisteredClient client, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/revoke")
        {
            Headers = { Authorization = OAuthFlow.Basic(client) },
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        return await api.SendAsync(request);
    }

}

/// <summary>Client secrets: generated, stored as a hash, never in the clear.</summary>
public sealed class ClientSecretStorageTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    [Fact]
    public async Task Secret_IsStoredAsSha256AndValidates()
    {
        var client = await factory.RegisterServiceAsync("read");

        await using var scope = factory.Services.CreateAsyncScope();
        var applications = scope.ServiceProvider.GetRequiredService<OpenIddict.Abstractions.IOpenIddictApplicationManager>();
        var application = await applications.FindByClientIdAsync(client.ClientId);
        var stored = ((OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreApplication)application!).ClientSecret!;

        Assert.StartsWith("sha256:", stored, StringComparison.Ordinal);
        Assert.DoesNotContain(client.ClientSecret!, stored, StringComparison.Ordinal);
        Assert.True(await applications.ValidateClientSecretAsync(application, client.ClientSecret!));
        Assert.False(await applications.ValidateClientSecretAsync(application, client.ClientSecret! + "x"));
    }
}
