using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using AuthServer.Tests.Infrastructure;
using Microsoft.IdentityModel.Tokens;

namespace AuthServer.Tests.PlatformApi;

/// <summary>How <c>/v1</c> checks access tokens: signature, type, issuer, audience and lifetime, even when remembered.</summary>
public sealed class AccessTokenValidationTests
{
    private static readonly Dictionary<string, string> Grant = new() { ["grant_type"] = "client_credentials" };

    [Fact]
    public async Task UnsignedToken_AlgNone_Is401()
    {
        await using var factory = new AuthServerFactory();
        var token = await ServiceTokenAsync(factory);
        var parts = token.Split('.');
        var header = Base64UrlEncoder.Encode(JsonSerializer.Serialize(new { alg = "none", typ = "at+jwt" }));

        using var response = await CallAsync(factory, $"{header}.{parts[1]}.");

        await ProfileEndpointTests.AssertErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_token");
    }

    [Fact]
    public async Task ExpiredToken_Is401_EvenAfterItWasAcceptedAndRemembered()
    {
        await using var factory = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
        {
            ["OAuth:AccessTokenLifetime"] = "00:00:02",
        });
        var token = await ServiceTokenAsync(factory);
        using (var fresh = await CallAsync(factory, token))
        {
            Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
        }

        await Task.Delay(TimeSpan.FromSeconds(3));
        using var expired = await CallAsync(factory, token);

        await ProfileEndpointTests.AssertErrorAsync(expired, HttpStatusCode.Unauthorized, "invalid_token");
    }

    [Fact]
    public async Task TokenForAnotherAudienceOrIssuer_SignedWithTheSameKeys_Is401()
    {
        var path = TestDatabase.NewSqlitePath();
        await using var platform = new ConfiguredAuthServerFactory(path);
        _ = platform.Server; // creates the database and the signing keys both hosts share

        foreach (var (key, value) in new[] { ("OAuth:Audience", "another-api"), ("OAuth:Issuer", "https://elsewhere.example/") })
        {
            await using var other = new ConfiguredAuthServerFactory(path, new Dictionary<string, string?> { [key] = value });
            var token = await ServiceTokenAsync(other);
            using (var accepted = await CallAsync(other, token))
            {
                Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
            }

            using var refused = await CallAsync(platform, token);
            await ProfileEndpointTests.AssertErrorAsync(refused, HttpStatusCode.Unauthorized, "invalid_token");
        }
    }

    private static async Task<string> ServiceTokenAsync(AuthServerFactory factory)
    {
        var service = await factory.RegisterServiceAsync("read");
        using var api = factory.CreateApiClient();
        return (await OAuthFlow.TokenAsync(api, service, Grant)).AccessToken;
    }

    private static async Task<HttpResponseMessage> CallAsync(AuthServerFactory factory, string token)
    {
        using var api = factory.CreateApiClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await api.SendAsync(request);
    }
}
