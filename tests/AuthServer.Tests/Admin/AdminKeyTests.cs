using System.Net;
using System.Text.Json;
using AuthServer.Data;
using AuthServer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.Admin;

/// <summary>Admins list and revoke any account's keys; nobody else reaches <c>/admin</c>.</summary>
public sealed class AdminKeyTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    [Fact]
    public async Task Admin_ListsAndRevokesAnotherAccountsKey()
    {
        using var developer = await OAuthFlow.SignedUpBrowserAsync(factory);
        var key = await Dashboard.CreateKeyAsync(developer, "watched");
        var (_, page) = await developer.GetPageAsync("/dashboard/keys");
        var keyId = page.QuerySelector("tr[data-key-id]")!.GetAttribute("data-key-id")!;
        var ownerId = await OwnerOfAsync(keyId);
        using var admin = await OAuthFlow.SignedInAdminAsync(factory);

        using var list = await admin.Http.GetAsync($"/admin/accounts/{ownerId}/keys");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        using var json = JsonDocument.Parse(await list.Content.ReadAsStringAsync());
        var listed = Assert.Single(json.RootElement.EnumerateArray());
        Assert.Equal(keyId, listed.GetProperty("id").GetString());
        Assert.DoesNotContain(key, json.RootElement.GetRawText(), StringComparison.Ordinal);

        using var revoke = await admin.Http.DeleteAsync($"/admin/keys/{keyId}");
        Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        using var api = factory.CreateApiClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await Dashboard.CallAsync(api, "/v1/models", key)).StatusCode);
    }

    [Fact]
    public async Task Admin_RevokeUnknownKey_Is404()
    {
        using var admin = await OAuthFlow.SignedInAdminAsync(factory);

        using var response = await admin.Http.DeleteAsync("/admin/keys/key_nope");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("not_found", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NonAdmin_SignedIn_Is403()
    {
        using var user = await OAuthFlow.SignedUpBrowserAsync(factory);

        using var response = await user.Http.GetAsync("/admin/accounts/anyone/keys");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("insufficient_scope", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Anonymous_Is401()
    {
        using var api = factory.CreateApiClient();

        using var response = await api.GetAsync("/admin/accounts/anyone/keys");

        // RFC 6750 §3.1: a request with no credentials is challenged without an error code; the body says why.
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer realm=\"AuthServer\"", response.Headers.WwwAuthenticate.ToString());
        Assert.Contains("\"error\":\"invalid_token\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApiKeyOrUserToken_WithoutAdminScope_Is403()
    {
        using var developer = await OAuthFlow.SignedUpBrowserAsync(factory);
        var key = await Dashboard.CreateKeyAsync(developer, "not admin", ["read", "write"]);
        using var api = factory.CreateApiClient();

        using var response = await Dashboard.CallAsync(api, "/admin/accounts/anyone/keys", key);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    private async Task<string> OwnerOfAsync(string keyId)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        return (await scope.ServiceProvider.GetRequiredService<AuthDbContext>().ApiKeys.FindAsync(keyId))!.OwnerId;
    }
}
