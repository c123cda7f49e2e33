using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;

namespace AuthServer.Tests.Admin;

/// <summary>An app a person approved acts with the scopes it was granted, never with the person's role.</summary>
public sealed partial class AdminEscalationTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    private const string RedirectUri = "https://app.example/callback";

    [Fact]
    public async Task AppApprovedByAnAdmin_GetsNoRoleNoEmail_And403OnEveryAdminRoute()
    {
        using var admin = await OAuthFlow.SignedInAdminAsync(factory);
        var token = await ApprovedTokenAsync(admin, "openid read");

        var claims = new JsonWebToken(token);
        Assert.DoesNotContain(claims.Claims, claim => claim.Type is "role" or "email" or "name" or "preferred_username");

        var routes = AdminRoutes();
        Assert.True(routes.Count >= 10, $"Only {routes.Count} admin routes found.");
        using var api = factory.CreateApiClient();
        foreach (var (method, path) in routes)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            if (method is "POST" or "PUT")
            {
                request.Content = new StringContent("""{"client_name":"escalated","grant_types":["client_credentials"],"scope":"admin","tier":"pro"}""", Encoding.UTF8, "application/json");
            }

            using var response = await api.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{method} {path} answered {(int)response.StatusCode}.");
            Assert.Contains("insufficient_scope", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AccessToken_CarriesEmailAndNameOnlyWithTheirScopes_AndNeverRoles()
    {
        using var admin = await OAuthFlow.SignedInAdminAsync(factory);

        var full = new JsonWebToken(await ApprovedTokenAsync(admin, "openid profile email read"));
        var emailOnly = new JsonWebToken(await ApprovedTokenAsync(admin, "openid email read"));

        Assert.True(full.TryGetPayloadValue<string>("email", out _));
        Assert.True(full.TryGetPayloadValue<string>("name", out _));
        Assert.DoesNotContain(full.Claims, claim => claim.Type == "role");
        Assert.True(emailOnly.TryGetPayloadValue<string>("email", out _));
        Assert.False(emailOnly.TryGetPayloadValue<string>("name", out _));
        Assert.DoesNotContain(emailOnly.Claims, claim => claim.Type == "role");
    }

    [Fact]
    public async Task AdminSession_StillReachesTheAdminApi()
    {
        using var admin = await OAuthFlow.SignedInAdminAsync(factory);

        using var response = await admin.Http.GetAsync("/admin/clients");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>Every route mapped under <c>/admin</c>, with its parameters filled in.</summary>
    private List<(string Method, string Path)> AdminRoutes() =>
        [.. factory.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(endpoint => endpoint.RoutePattern.RawText?.TrimStart('/').StartsWith("admin", StringComparison.Ordinal) == true)
            .SelectMany(endpoint => (endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(method => (method, "/" + Parameter().Replace(endpoint.RoutePattern.RawText!.TrimStart('/'), "x"))))];

    private async Task<string> ApprovedTokenAsync(TestBrowser person, string scope)
    {
        var client = await factory.RegisterClientAsync(RedirectUri);
        var pkce = Pkce.Create();
        var code = await OAuthFlow.GetCodeAsync(person, OAuthFlow.AuthorizeUrl(client.ClientId, RedirectUri, scope, pkce));
        using var api = factory.CreateApiClient();
        var tokens = await OAuthFlow.RedeemAsync(api, client, code, pkce.Verifier);
        Assert.Equal(HttpStatusCode.OK, tokens.Status);
        return tokens.AccessToken;
    }

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex Parameter();
}
