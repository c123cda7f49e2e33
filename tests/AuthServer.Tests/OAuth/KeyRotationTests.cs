using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using AuthServer.Data;
using AuthServer.OAuth.Keys;
using AuthServer.Tests.Infrastructure;
using AuthServer.Tests.ResourceServer;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;

namespace AuthServer.Tests.OAuth;

/// <summary>
/// Signing and encryption keys that rotate: announced, current, retired, removed; a token outlives the key change that
/// follows it; an emergency rotation withdraws the old key at once; nodes racing a rotation add one key.
/// </summary>
public sealed class KeyRotationTests
{
    /// <summary>Short periods, so a rotation happens within a test: a key is announced 2 s before it signs.</summary>
    private static Dictionary<string, string?> FastKeys(string announceBefore = "00:00:02") => new()
    {
        ["OAuth:Keys:AnnounceBefore"] = announceBefore,
        ["OAuth:Keys:RefreshInterval"] = "00:00:01",
    };

    [Fact]
    public async Task TokenSignedBeforeARotation_ValidatesAfterIt_AtAResourceServerUsingOnlyTheJwks()
    {
        await using var authority = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), FastKeys());
        var issuer = StartOnLoopback(authority);
        var resource = await authority.RegisterAsync(new AuthServer.Clients.ClientRegistration(
            "Platform API", [], IsPublic: false, ["read"], GrantTypes: ["client_credentials"], ClientId: "platform-api"));
        await using var api = await SampleResourceServer.StartAsync(issuer, resource.ClientId, resource.ClientSecret!);
        var service = await authority.RegisterServiceAsync("read");
        using var http = new HttpClient { BaseAddress = issuer };

        var before = await TokenAsync(http, service);
        var oldKid = KeyIdOf(before);
        Assert.Equal([oldKid], await SigningKidsAsync(http));

        var announced = Assert.Single(await authority.Services.GetRequiredService<ServerKeyStore>()
            .RotateAsync([ServerKeyPurposes.Signing], immediately: false, CancellationToken.None));

        // Announced: published at once (within the refresh interval), not yet signing.
        await Eventually(async () => (await SigningKidsAsync(http)).Contains(announced.KeyId));
        Assert.Equal(oldKid, KeyIdOf(await TokenAsync(http, service)));

        // The resource server reads the JWKS while the new key is announced (its first call), as one that refreshes
        // its JWKS more often than OAuth:Keys:AnnounceBefore does; it never needs to read it again.
        Assert.Equal(HttpStatusCode.OK, await CallAsync(api, "/local", before));

        // Current once its time comes; the old key is retired, still published, and what it signed still validates.
        await Eventually(async () => KeyIdOf(await TokenAsync(http, service)) == announced.KeyId);
        Assert.Equal([announced.KeyId, oldKid], await SigningKidsAsync(http));
        var after = await TokenAsync(http, service);
        foreach (var token in new[] { before, after })
        {
            Assert.Equal(HttpStatusCode.OK, await CallAsync(api, "/local", token));
            Assert.Equal(HttpStatusCode.OK, await CallAsync(api, "/introspected", token));
        }

        var states = await authority.Services.GetRequiredService<ServerKeyStore>().ListAsync(CancellationToken.None);
        Assert.Equal(ServerKeyStatus.Retired, states.Single(state => state.Key.KeyId == oldKid).Status);
        Assert.Equal(ServerKeyStatus.Current, states.Single(state => state.Key.KeyId == announced.KeyId).Status);
    }

    [Fact]
    public async Task EmergencyRotation_FromTheCommandLine_MakesTokensOfTheOldKeyFail()
    {
        await using var authority = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), FastKeys());
        var service = await authority.RegisterServiceAsync("read");
        using var http = authority.CreateApiClient();
        var before = await TokenAsync(http, service);
        Assert.True(await IsActiveAsync(http, service, before));
        Assert.Equal(HttpStatusCode.OK, await CallPlatformAsync(http, before));

        // Another process (the operator's shell) rotates; the running server sees it within its refresh interval.
        var result = await CliRunner.RunAsync(authority.DatabasePath, "keys", "rotate", "--now", "--use", "sig");
        Assert.True(result.ExitCode == 0, result.Stderr);
        using var rotated = JsonDocument.Parse(result.Stdout);
        var key = Assert.Single(rotated.RootElement.EnumerateArray());
        Assert.Equal("current", key.GetProperty("status").GetString());
        var newKid = key.GetProperty("kid").GetString()!;

        await Eventually(async () => KeyIdOf(await TokenAsync(http, service)) == newKid);
        Assert.False(await IsActiveAsync(http, service, before));
        Assert.Equal(HttpStatusCode.Unauthorized, await CallPlatformAsync(http, before));
        Assert.Equal([newKid], await SigningKidsAsync(http));

        var fresh = await TokenAsync(http, service);
        Assert.True(await IsActiveAsync(http, service, fresh));
        Assert.Equal(HttpStatusCode.OK, await CallPlatformAsync(http, fresh));

        var listed = await CliRunner.RunAsync(authority.DatabasePath, "keys", "list");
        using var keys = JsonDocument.Parse(listed.Stdout);
        var statuses = keys.RootElement.EnumerateArray()
            .Where(entry => entry.GetProperty("use").GetString() == "sig")
            .ToDictionary(entry => entry.GetProperty("kid").GetString()!, entry => entry.GetProperty("status").GetString());
        Assert.Equal("current", statuses[newKid]);
        Assert.Equal("removed", statuses[KeyIdOf(before)]);
        foreach (var field in new[] { "kid", "use", "alg", "status", "created", "activates", "retires" })
        {
            Assert.True(keys.RootElement[0].TryGetProperty(field, out _), field);
        }
    }

    [Fact]
    public async Task RefreshToken_FromBeforeAnEncryptionKeyRotation_StillRedeems()
    {
        await using var authority = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), FastKeys("00:00:01"));
        var (browser, client, tokens) = await OAuthFlow.FullFlowAsync(authority);
        browser.Dispose();
        var store = authority.Services.GetRequiredService<ServerKeyStore>();
        var oldKey = (await store.ListAsync(CancellationToken.None)).Single(state => state.Key.Purpose == ServerKeyPurposes.Encryption);

        var newKey = Assert.Single(await store.RotateAsync([ServerKeyPurposes.Encryption], immediately: false, CancellationToken.None));
        await Eventually(async () => (await store.ListAsync(CancellationToken.None))
            .Any(state => state.Key.KeyId == newKey.KeyId && state.Status == ServerKeyStatus.Current));
        await authority.Services.GetRequiredService<ServerKeyRotation>().RefreshAsync(CancellationToken.None);

        using var http = authority.CreateApiClient();
        var refreshed = await OAuthFlow.RefreshAsync(http, client, tokens.RefreshToken!);
        Assert.Equal(HttpStatusCode.OK, refreshed.Status);

        // The new refresh token is protected with the new key, and redeems too; the old key is retired, not gone.
        Assert.Equal(HttpStatusCode.OK, (await OAuthFlow.RefreshAsync(http, client, refreshed.RefreshToken!)).Status);
        var states = await store.ListAsync(CancellationToken.None);
        Assert.Equal(ServerKeyStatus.Retired, states.Single(state => state.Key.KeyId == oldKey.Key.KeyId).Status);
    }

    [Fact]
    public async Task TwoNodesRacingAScheduledRotation_AddOneKey_AndAgree()
    {
        // The rotation is due one second after the first key was made.
        var settings = new Dictionary<string, string?>
        {
            ["OAuth:Keys:RotationInterval"] = "01:00:00",
            ["OAuth:Keys:AnnounceBefore"] = "00:59:59",
            ["OAuth:Keys:RefreshInterval"] = "00:00:01",
        };
        var path = TestDatabase.NewSqlitePath();
        await using var first = new ConfiguredAuthServerFactory(path, settings);
        await using var second = new ConfiguredAuthServerFactory(path, settings);
        using var a = first.CreateApiClient();
        using var b = second.CreateApiClient();
        await a.GetStringAsync("/.well-known/jwks");
        await b.GetStringAsync("/.well-known/jwks");

        await Task.Delay(TimeSpan.FromSeconds(1.2));
        var stores = new[] { first, second }.Select(node => node.Services.GetRequiredService<ServerKeyStore>()).ToList();
        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(() => stores[i % 2].EnsureAsync(CancellationToken.None))));

        var states = await stores[0].ListAsync(CancellationToken.None);
        foreach (var purpose in new[] { ServerKeyPurposes.Signing, ServerKeyPurposes.Encryption })
        {
            var keys = states.Where(state => state.Key.Purpose == purpose).ToList();
            Assert.Equal(2, keys.Count);
            Assert.Single(keys, state => state.Status == ServerKeyStatus.Announced);
        }

        // Both nodes publish the same keys within their refresh interval.
        await Eventually(async () => (await SigningKidsAsync(a)).Count == 2 && (await SigningKidsAsync(b)).Count == 2);
        Assert.Equal(await SigningKidsAsync(a), await SigningKidsAsync(b));
    }

    private static Uri StartOnLoopback(ConfiguredAuthServerFactory factory)
    {
        factory.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        factory.StartServer();
        return new Uri(factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
    }

    private static async Task<string> TokenAsync(HttpClient http, AuthServer.Clients.RegisteredClient service)
    {
        var response = await OAuthFlow.TokenAsync(http, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = "read" });
        Assert.Equal(HttpStatusCode.OK, response.Status);
        return response.AccessToken;
    }

    private static string KeyIdOf(string token) => new JsonWebToken(token).Kid;

    private static async Task<List<string>> SigningKidsAsync(HttpClient http)
    {
        using var jwks = JsonDocument.Parse(await http.GetStringAsync(".well-known/jwks"));
        return [.. jwks.RootElement.GetProperty("keys").EnumerateArray()
            .Where(key => key.GetProperty("use").GetString() == "sig")
            .Select(key => key.GetProperty("kid").GetString()!)];
    }

    private static async Task<HttpStatusCode> CallAsync(SampleResourceServer api, string path, string token)
    {
        using var http = new HttpClient { BaseAddress = api.Address };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    private static async Task<HttpStatusCode> CallPlatformAsync(HttpClient http, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    private static async Task<bool> IsActiveAsync(HttpClient http, AuthServer.Clients.RegisteredClient caller, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/introspect")
        {
            Headers = { Authorization = OAuthFlow.Basic(caller) },
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        using var response = await http.SendAsync(request);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("active").GetBoolean();
    }

    private static async Task Eventually(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not hold within 10 s.");
            await Task.Delay(200);
        }
    }
}
