using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthServer.Clients;
using AuthServer.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;

namespace AuthServer.Tests.Admin;

/// <summary><c>/admin/scopes</c>: admin-defined scopes with their resources, usable by clients right away.</summary>
public sealed class ScopesAdminTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    [Fact]
    public async Task Scope_CreatedByAdmin_IsGrantedWithItsResourceAsAudience()
    {
        using var admin = await factory.CreateAdminClientAsync();
        var name = $"inventory.read.{Guid.NewGuid():N}"[..30];

        using var created = await admin.PostAsJsonAsync("/admin/scopes", new
        {
            name,
            display_name = "Read the inventory",
            description = "Lists stock levels.",
            resources = new[] { "inventory-api" },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        // A client registered with the scope gets a token for the inventory API as well as the platform API.
        using var client = await admin.PostAsJsonAsync("/admin/clients", new
        {
            client_name = "Stock sync",
            grant_types = new[] { "client_credentials" },
            scope = name,
        });
        Assert.Equal(HttpStatusCode.Created, client.StatusCode);
        using var body = JsonDocument.Parse(await client.Content.ReadAsStringAsync());
        var service = new RegisteredClient(body.RootElement.GetProperty("client_id").GetString()!, body.RootElement.GetProperty("client_secret").GetString());
        using var api = factory.CreateApiClient();
        var token = await OAuthFlow.TokenAsync(api, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = name });
        Assert.Equal(HttpStatusCode.OK, token.Status);
        Assert.Contains("inventory-api", new JsonWebToken(token.AccessToken).Audiences);

        // Listed, fetched, updated, deleted.
        using var list = JsonDocument.Parse(await admin.GetStringAsync("/admin/scopes"));
        Assert.Contains(list.RootElement.EnumerateArray(), s => s.GetProperty("name").GetString() == name);
        using var updated = await admin.PutAsJsonAsync($"/admin/scopes/{name}", new { display_name = "Inventory (read)", resources = new[] { "inventory-api", "stock-api" } });
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        using var fetched = JsonDocument.Parse(await admin.GetStringAsync($"/admin/scopes/{name}"));
        Assert.Equal(["inventory-api", "stock-api"], fetched.RootElement.GetProperty("resources").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/admin/scopes/{name}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/admin/scopes/{name}")).StatusCode);

        // A deleted scope is no longer granted.
        var refused = await OAuthFlow.TokenAsync(api, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = name });
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
    }

    [Theory]
    [InlineData("""{"name":"read"}""")]
    [InlineData("""{"name":"openid"}""")]
    [InlineData("""{"name":""}""")]
    [InlineData("""{"name":"has space"}""")]
    [InlineData("""{"name":"ok.scope","resources":[""]}""")]
    public async Task Scope_InvalidOrBuiltIn_IsRefused(string json)
    {
        using var admin = await factory.CreateAdminClientAsync();

        using var response = await admin.PostAsync("/admin/scopes", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("invalid_request", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Client_WithUndefinedScope_IsRefused()
    {
        using var admin = await factory.CreateAdminClientAsync();

        using var response = await admin.PostAsJsonAsync("/admin/clients", new
        {
            client_name = "x",
            grant_types = new[] { "client_credentials" },
            scope = "never.defined",
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("invalid_client_metadata", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
