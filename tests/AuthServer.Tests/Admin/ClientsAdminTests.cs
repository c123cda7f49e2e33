using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using AuthServer.Clients;
using AuthServer.Tests.Infrastructure;

namespace AuthServer.Tests.Admin;

/// <summary><c>/admin/clients</c> with RFC 7591 / 7592 field names and errors, called by an admin client.</summary>
public sealed class ClientsAdminTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    [Fact]
    public async Task Clients_PolicyTermsAndLogo_AreKept_AndABadOneIsRefused()
    {
        using var admin = await factory.CreateAdminClientAsync();

        using var created = await admin.PostAsJsonAsync("/admin/clients", new
        {
            client_name = "Linked App",
            redirect_uris = new[] { "https://linked.example/cb" },
            scope = "openid read",
            policy_uri = "https://linked.example/privacy",
            tos_uri = "https://linked.example/terms",
            logo_uri = "https://linked.example/logo.png",
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var clientId = body.RootElement.GetProperty("client_id").GetString()!;
        using var fetched = JsonDocument.Parse(await admin.GetStringAsync($"/admin/clients/{clientId}"));
        Assert.Equal("https://linked.example/privacy", fetched.RootElement.GetProperty("policy_uri").GetString());
        Assert.Equal("https://linked.example/terms", fetched.RootElement.GetProperty("tos_uri").GetString());
        Assert.Equal("https://linked.example/logo.png", fetched.RootElement.GetProperty("logo_uri").GetString());

        using var refused = await admin.PostAsJsonAsync("/admin/clients", new
        {
            client_name = "Bad Link",
            redirect_uris = new[] { "https://linked.example/cb" },
            policy_uri = "http://linked.example/privacy",
        });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        using var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Equal("invalid_client_metadata", error.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Clients_CreateGetListUpdateDelete_RoundTrip()
    {
        using var admin = await factory.CreateAdminClientAsync();

        using var created = await admin.PostAsJsonAsync("/admin/clients", new
        {
            client_name = "Partner App",
            redirect_uris = new[] { "https://partner.example/cb" },
            grant_types = new[] { "authorization_code", "refresh_token" },
            scope = "openid profile read",
            token_endpoint_auth_method = "client_secret_post",
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var clientId = body.RootElement.GetProperty("client_id").GetString()!;
        Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("client_secret").GetString()));
        Assert.Equal(0, body.RootElement.GetProperty("client_secret_expires_at").GetInt64());
        Assert.Equal("client_secret_post", body.RootElement.GetProperty("token_endpoint_auth_method").GetString());
        Assert.Equal(["code"], body.RootElement.GetProperty("response_types").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal($"/admin/clients/{clientId}", created.Headers.Location!.OriginalString);

        using var fetched = JsonDocument.Parse(await admin.GetStringAsync($"/admin/clients/{clientId}"));
        Assert.False(fetched.RootElement.TryGetProperty("client_secret", out _), "The secret is shown once, at creation.");
        Assert.Equal("Partner App", fetched.RootElement.GetProperty("client_name").GetString());
        Assert.Equal("openid profile read", fetched.RootElement.GetProperty("scope").GetString());

        using var page = JsonDocument.Parse(await admin.GetStringAsync("/admin/clients?offset=0&limit=1"));
        Assert.Single(page.RootElement.GetProperty("clients").EnumerateArray());
        Assert.True(page.RootElement.GetProperty("total").GetInt64() >= 2);

        using var updated = await admin.PutAsJsonAsync($"/admin/clients/{clientId}", new
        {
            client_name = "Partner App v2",
            redirect_uris = new[] { "https://partner.example/cb2" },
            scope = "openid read write",
        });
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        using var after = JsonDocument.Parse(await admin.GetStringAsync($"/admin/clients/{clientId}"));
        Assert.Equal("Partner App v2", after.RootElement.GetProperty("client_name").GetString());
        Assert.Equal(["https://partner.example/cb2"], after.RootElement.GetProperty("redirect_uris").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("openid read write", after.RootElement.GetProperty("scope").GetString());

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/admin/clients/{clientId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/admin/clients/{clientId}")).StatusCode);
    }

    [Theory]
    [InlineData("""{"client_name":"x","redirect_uris":["/relative"]}""", "invalid_redirect_uri")]
    [InlineData("""{"client_name":"x","redirect_uris":["https://a.example/cb#frag"]}""", "invalid_redirect_uri")]
    [InlineData("""{"client_name":"x","redirect_uris":["https://*.example/cb"]}""", "invalid_redirect_uri")]
    [InlineData("""{"client_name":"x","redirect_uris":["http://a.example/cb"]}""", "invalid_redirect_uri")]
    [InlineData("""{"client_name":"x","redirect_uris":["javascript:alert(1)"]}""", "invalid_redirect_uri")]
    [InlineData("""{"client_name":"x","grant_types":["client_credentials"],"token_endpoint_auth_method":"none"}""", "invalid_client_metadata")]
    [InlineData("""{"client_name":"x","redirect_uris":["https://a.example/cb"],"grant_types":["password"]}""", "invalid_client_metadata")]
    [InlineData("""{"client_name":"x","redirect_uris":["https://a.example/cb"],"scope":"openid superuser"}""", "invalid_client_metadata")]
    [InlineData("""{"client_name":"x","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"private_key_jwt"}""", "invalid_client_metadata")]
    [InlineData("""{"client_name":"x","redirect_uris":["https://a.example/cb"],"response_types":["token"]}""", "invalid_client_metadata")]
    [InlineData("""{"client_name":"","redirect_uris":["https://a.example/cb"]}""", "invalid_client_metadata")]
    [InlineData("""{"client_name":"x"}""", "invalid_client_metadata")]
    [InlineData("""{"client_name":"line\nbreak","redirect_uris":["https://a.example/cb"]}""", "invalid_client_metadata")]
    [InlineData("""{"client_name":"evil\u202Egnp.exe","redirect_uris":["https://a.example/cb"]}""", "invalid_client_metadata")]
    [InlineData("""{"client_name":"bell\u0007","redirect_uris":["https://a.example/cb"]}""", "invalid_client_metadata")]
    [InlineData("""{"client_name":"x","redirect_uris":["https://a.example/c b"]}""", "invalid_redirect_uri")]
    [InlineData("""{"client_name":"x","redirect_uris":["https://a.example/cb\t"]}""", "invalid_redirect_uri")]
    public async Task Create_InvalidMetadata_IsRefusedAndNothingIsSaved(string json, string error)
    {
        using var admin = await factory.CreateAdminClientAsync();
        var before = await CountAsync(admin);

        using var response = await admin.PostAsync("/admin/clients", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(error, body.RootElement.GetProperty("error").GetString());
        Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("error_description").GetString()));
        Assert.Equal(before, await CountAsync(admin));
    }

    [Fact]
    public async Task Create_WithChosenClientId_RegistersAResourceServerThatIsTheTokensAudience()
    {
        // A host of its own: the shared one may already have registered the platform's audience.
        await using var host = new AuthServerFactory();
        using var admin = await host.CreateAdminClientAsync();

        using var created = await admin.PostAsJsonAsync("/admin/clients", new
        {
            client_id = "platform-api",
            client_name = "Platform API",
            grant_types = new[] { "client_credentials" },
            scope = "read",
        });
        var text = await created.Content.ReadAsStringAsync();
        Assert.True(created.StatusCode == HttpStatusCode.Created, text);
        using var body = JsonDocument.Parse(text);
        Assert.Equal("platform-api", body.RootElement.GetProperty("client_id").GetString());
        Assert.Equal("/admin/clients/platform-api", created.Headers.Location!.OriginalString);
        var resourceServer = new RegisteredClient("platform-api", body.RootElement.GetProperty("client_secret").GetString());

        // A token for another client names platform-api as its audience, so platform-api may introspect it.
        var service = await host.RegisterServiceAsync("read");
        using var api = host.CreateApiClient();
        var token = await OAuthFlow.TokenAsync(api, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials" });
        using var introspect = new HttpRequestMessage(HttpMethod.Post, "/oauth/introspect")
        {
            Headers = { Authorization = OAuthFlow.Basic(resourceServer) },
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token.AccessToken! }),
        };
        using var answer = await api.SendAsync(introspect);
        using var introspected = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
        Assert.True(introspected.RootElement.GetProperty("active").GetBoolean(), introspected.RootElement.ToString());

        // Chosen once: taken afterwards, and the body of an update may repeat it but not change it.
        using var again = await admin.PostAsJsonAsync("/admin/clients", new
        {
            client_id = "platform-api",
            client_name = "Impostor",
            grant_types = new[] { "client_credentials" },
        });
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        Assert.Contains("invalid_client_metadata", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var renamed = await admin.PutAsJsonAsync("/admin/clients/platform-api", new
        {
            client_id = "other-api",
            client_name = "Platform API",
            grant_types = new[] { "client_credentials" },
        });
        Assert.Equal(HttpStatusCode.BadRequest, renamed.StatusCode);
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("no spaces")]
    [InlineData("slash/inside")]
    public async Task Create_WithInvalidClientId_IsRefusedLikeTheCli(string clientId)
    {
        using var admin = await factory.CreateAdminClientAsync();

        using var response = await admin.PostAsJsonAsync("/admin/clients", new
        {
            client_id = clientId,
            client_name = "Bad",
            grant_types = new[] { "client_credentials" },
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_client_metadata", body.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Create_NativeAppPrivateSchemeAndLoopback_AreAccepted()
    {
        using var admin = await factory.CreateAdminClientAsync();

        using var response = await admin.PostAsJsonAsync("/admin/clients", new
        {
            client_name = "Desktop",
            redirect_uris = new[] { "com.example.app:/callback", "http://127.0.0.1:51000/cb", "http://[::1]:51000/cb", "http://localhost/cb" },
            token_endpoint_auth_method = "none",
        });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.DoesNotContain("client_secret\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RotateSecret_WithoutGrace_OldSecretStopsAtOnce()
    {
        using var admin = await factory.CreateAdminClientAsync();
        var service = await CreateServiceAsync(admin);

        var rotated = await RotateAsync(admin, service.ClientId, null);

        Assert.Equal("invalid_client", (await TokenAsync(service)).Error);
        Assert.Equal(HttpStatusCode.OK, (await TokenAsync(service with { ClientSecret = rotated })).Status);
    }

    [Fact]
    public async Task RotateSecret_WithGrace_BothWorkUntilTheGraceEnds()
    {
        using var admin = await factory.CreateAdminClientAsync();
        var service = await CreateServiceAsync(admin);

        var rotated = await RotateAsync(admin, service.ClientId, 2);

        Assert.Equal(HttpStatusCode.OK, (await TokenAsync(service)).Status);
        Assert.Equal(HttpStatusCode.OK, (await TokenAsync(service with { ClientSecret = rotated })).Status);

        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal("invalid_client", (await TokenAsync(service)).Error);
        Assert.Equal(HttpStatusCode.OK, (await TokenAsync(service with { ClientSecret = rotated })).Status);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(604801)]
    public async Task RotateSecret_GraceOutOfRange_IsRefused(long seconds)
    {
        using var admin = await factory.CreateAdminClientAsync();
        var service = await CreateServiceAsync(admin);

        using var response = await admin.PostAsJsonAsync($"/admin/clients/{service.ClientId}/secret", new { grace_period_seconds = seconds });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await TokenAsync(service)).Status);
    }

    [Fact]
    public async Task Audit_AdminChanges_AreListedWithActorAndAction()
    {
        using var admin = await factory.CreateAdminClientAsync();
        var service = await CreateServiceAsync(admin);
        await RotateAsync(admin, service.ClientId, null);

        using var audit = JsonDocument.Parse(await admin.GetStringAsync("/admin/audit?limit=200"));

        var events = audit.RootElement.GetProperty("events").EnumerateArray()
            .Where(e => e.GetProperty("target").GetString() == service.ClientId)
            .Select(e => e.GetProperty("action").GetString())
            .ToList();
        Assert.Contains("client.created", events);
        Assert.Contains("client.secret_rotated", events);
        var first = audit.RootElement.GetProperty("events")[0];
        Assert.False(string.IsNullOrEmpty(first.GetProperty("actor").GetString()));
        Assert.True(first.TryGetProperty("ip_address", out _));
    }

    [Fact]
    public async Task Clients_WithoutAdminScope_Is403()
    {
        var service = await factory.RegisterServiceAsync("read");
        using var api = factory.CreateApiClient();
        var token = (await OAuthFlow.TokenAsync(api, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials" })).AccessToken;
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        Assert.Equal(HttpStatusCode.Forbidden, (await api.GetAsync("/admin/clients")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await api.PostAsJsonAsync("/admin/clients", new { client_name = "x" })).StatusCode);
    }


    private static async Task<RegisteredClient> CreateServiceAsync(HttpClient admin)
    {
        using var created = await admin.PostAsJsonAsync("/admin/clients", new
        {
            client_name = "Billing",
            grant_types = new[] { "client_credentials" },
            scope = "read",
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        return new RegisteredClient(body.RootElement.GetProperty("client_id").GetString()!, body.RootElement.GetProperty("client_secret").GetString());
    }

    private static async Task<string> RotateAsync(HttpClient admin, string clientId, long? graceSeconds)
    {
        using var response = graceSeconds is null
            ? await admin.PostAsync($"/admin/clients/{clientId}/secret", null)
            : await admin.PostAsJsonAsync($"/admin/clients/{clientId}/secret", new { grace_period_seconds = graceSeconds });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var body = JsonDocument.Parse(text);
        return body.RootElement.GetProperty("client_secret").GetString()!;
    }

    private async Task<TokenResponse> TokenAsync(RegisteredClient client)
    {
        using var api = factory.CreateApiClient();
        return await OAuthFlow.TokenAsync(api, client, new Dictionary<string, string> { ["grant_type"] = "client_credentials" });
    }

    private static async Task<long> CountAsync(HttpClient admin)
    {
        using var page = JsonDocument.Parse(await admin.GetStringAsync("/admin/clients?limit=1"));
        return page.RootElement.GetProperty("total").GetInt64();
    }
}
