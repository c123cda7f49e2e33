using System.Net;
using AuthServer.OAuth.Acceleration;
using AuthServer.Tests.Infrastructure;
using OpenIddict.EntityFrameworkCore.Models;

namespace AuthServer.Tests.OAuth;

/// <summary>The node-wide client and scope cache: copies only, and changes on this node apply at once.</summary>
public sealed class EntityCacheTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    [Fact]
    public void Copy_CarriesEveryScalarProperty_AndNoCollection()
    {
        var application = new OpenIddictEntityFrameworkCoreApplication();
        foreach (var property in typeof(OpenIddictEntityFrameworkCoreApplication).GetProperties().Where(p => p.PropertyType == typeof(string)))
        {
            property.SetValue(application, property.Name + "-value");
        }

        application.Tokens.Add(new OpenIddictEntityFrameworkCoreToken());
        var copy = EntityCache.Copier<OpenIddictEntityFrameworkCoreApplication>.Copy(application);

        Assert.NotSame(application, copy);
        foreach (var property in typeof(OpenIddictEntityFrameworkCoreApplication).GetProperties().Where(p => p.PropertyType == typeof(string)))
        {
            Assert.Equal(property.Name + "-value", property.GetValue(copy));
        }

        Assert.Empty(copy.Tokens);
        Assert.NotSame(application.Tokens, copy.Tokens);
    }

    [Fact]
    public async Task DeletedClient_IsRefusedAtOnce_ThoughItWasJustCached()
    {
        var service = await factory.RegisterServiceAsync("read");
        using var api = factory.CreateApiClient();
        var grant = new Dictionary<string, string> { ["grant_type"] = "client_credentials" };
        Assert.Equal(HttpStatusCode.OK, (await OAuthFlow.TokenAsync(api, service, grant)).Status);
        using var admin = await factory.CreateAdminClientAsync();

        using var deleted = await admin.DeleteAsync($"/admin/clients/{service.ClientId}");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal("invalid_client", (await OAuthFlow.TokenAsync(api, service, grant)).Error);
    }

    [Fact]
    public async Task ManyTokenRequestsAtOnce_AllSucceed()
    {
        var service = await factory.RegisterServiceAsync("read");
        using var api = factory.CreateApiClient();
        var grant = new Dictionary<string, string> { ["grant_type"] = "client_credentials" };

        // Concurrent writers on the one SQLite file: the write gate queues them instead of failing or sleeping.
        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => OAuthFlow.TokenAsync(api, service, grant)));

        Assert.All(responses, response => Assert.Equal(HttpStatusCode.OK, response.Status));
        Assert.Equal(40, responses.Select(response => response.AccessToken).Distinct().Count());
    }
}
