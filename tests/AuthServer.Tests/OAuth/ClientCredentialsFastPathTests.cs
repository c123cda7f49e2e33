using System.Net;
using System.Text;
using System.Text.Json;
using AuthServer.Clients;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using OpenIddict.Abstractions;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace AuthServer.Tests.OAuth;

/// <summary>
/// The fast path answers a plain <c>client_credentials</c> request exactly as OpenIddict's pipeline and the
/// authorization controller do: the same request sent to a host with the acceleration layer (the default) and to one
/// without it (<c>OAuth:Acceleration=false</c>) gives the same response, the same token and the same token row;
/// anything it does not take reaches the pipeline, which gives the same error either way.
/// </summary>
public sealed class ClientCredentialsFastPathTests(ClientCredentialsFastPathTests.Hosts hosts)
    : IClassFixture<ClientCredentialsFastPathTests.Hosts>
{
    [Theory]
    [InlineData(true, "read")]
    [InlineData(true, "write read")]
    [InlineData(false, "read")]
    [InlineData(false, null)]
    public async Task PlainRequest_IsAnsweredBeforeThePipeline_AsThePipelineAnswersIt(bool basic, string? scope)
    {
        var fast = await IssueAsync(hosts.Fast, basic, scope);
        var pipeline = await IssueAsync(hosts.Pipeline, basic, scope);

        Assert.Equal(0, fast.Extracted);
        Assert.Equal(1, pipeline.Extracted);
        AssertSame(pipeline, fast);
    }

    [Fact]
    public async Task ClientsOwnAccessTokenLifetime_IsHonoured()
    {
        var fast = await IssueAsync(hosts.Fast, basic: true, "read", lifetime: TimeSpan.FromMinutes(10));
        var pipeline = await IssueAsync(hosts.Pipeline, basic: true, "read", lifetime: TimeSpan.FromMinutes(10));

        Assert.Equal(0, fast.Extracted);
        Assert.Equal(600, fast.Token.GetPayloadValue<long>("exp") - fast.Token.GetPayloadValue<long>("iat"));
        AssertSame(pipeline, fast);
    }

    [Fact]
    public async Task AScopeAnAdminDefined_AddsItsResourceToTheAudiences()
    {
        // Asked for no scope, a service gets all of its scopes, an admin-defined one with its own resource included.
        var fast = await IssueAsync(hosts.Fast, basic: true, scope: null, extraScope: "billing");
        var pipeline = await IssueAsync(hosts.Pipeline, basic: true, scope: null, extraScope: "billing");

        Assert.Equal(0, fast.Extracted);
        Assert.Equal(["platform-api", "billing-api"], fast.Token.Audiences);
        AssertSame(pipeline, fast);
    }

    [Theory]
    [InlineData("wrong secret")]
    [InlineData("unknown scope")]
    [InlineData("scope not granted")]
    [InlineData("person scope")]
    [InlineData("extra parameter")]
    [InlineData("credentials twice")]
    [InlineData("grant type twice")]
    [InlineData("query string")]
    [InlineData("DPoP header")]
    [InlineData("another charset")]
    public async Task AnythingElse_GoesThroughThePipeline_WithTheSameAnswer(string variant)
    {
        var fast = await SendAsync(hosts.Fast, variant);
        var pipeline = await SendAsync(hosts.Pipeline, variant);

        Assert.Equal(1, fast.Extracted);
        Assert.Equal(pipeline.Status, fast.Status);
        Assert.Equal(pipeline.Error, fast.Error);
        Assert.NotEqual(HttpStatusCode.InternalServerError, fast.Status);
    }

    [Fact]
    public async Task PercentEncodedCredentials_AreReadAsOpenIddictReadsThem()
    {
        var fast = await SendAsync(hosts.Fast, "percent-encoded credentials");
        var pipeline = await SendAsync(hosts.Pipeline, "percent-encoded credentials");

        Assert.Equal(0, fast.Extracted);
        Assert.Equal(HttpStatusCode.OK, fast.Status);
        Assert.Equal(HttpStatusCode.OK, pipeline.Status);
    }

    private static async Task<(int Extracted, HttpStatusCode Status, string? Error)> SendAsync(Observed host, string variant)
    {
        var service = await host.RegisterServiceAsync("read");
        var form = new List<KeyValuePair<string, string>> { new("grant_type", "client_credentials"), new("scope", "read") };
        var basic = OAuthFlow.Basic(service);
        var path = "/oauth/token";
        switch (variant)
        {
            case "wrong secret":
                basic = OAuthFlow.Basic(service with { ClientSecret = service.ClientSecret + "x" });
                break;
            case "unknown scope":
                form[1] = new("scope", "read nope");
                break;
            case "scope not granted":
                form[1] = new("scope", "read write");
                break;
            case "person scope":
                form[1] = new("scope", "read offline_access");
                break;
            case "extra parameter":
                form.Add(new("resource", "https://api.example"));
                break;
            case "credentials twice":
                form.Add(new("client_id", service.ClientId));
                form.Add(new("client_secret", service.ClientSecret!));
                break;
            case "grant type twice":
                form.Add(new("grant_type", "client_credentials"));
                break;
            case "query string":
                path += "?scope=read";
                break;
            case "percent-encoded credentials":
                // RFC 6749 §2.3.1: the id is form-encoded before Basic; both read it as OpenIddict does.
                basic = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(
                    $"%{(int)service.ClientId[0]:X2}{service.ClientId[1..]}:{service.ClientSecret}")));
                break;
        }

        using var api = host.CreateApiClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = basic;
        if (variant == "DPoP header")
        {
            request.Headers.Add("DPoP", "eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.c2ln");
        }
        else if (variant == "another charset")
        {
            request.Content.Headers.ContentType!.CharSet = "iso-8859-1";
        }

        var before = host.Extracted;
        using var response = await api.SendAsync(request);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = body.RootElement.TryGetProperty("error", out var code) ? code.GetString() : null;
        return (host.Extracted - before, response.StatusCode, error);
    }

    private sealed record Issued(
        int Extracted, RegisteredClient Client, string ApplicationId, HttpResponseMessage Response, JsonElement Body,
        JsonWebToken Token, OpenIddictTokenDescriptor Row);

    private static async Task<Issued> IssueAsync(
        Observed host, bool basic, string? scope, TimeSpan? lifetime = null, string? extraScope = null)
    {
        if (extraScope is not null)
        {
            await using var admin = host.Services.CreateAsyncScope();
            var scopes = admin.ServiceProvider.GetRequiredService<IOpenIddictScopeManager>();
            if (await scopes.FindByNameAsync(extraScope) is null)
            {
                await scopes.CreateAsync(new OpenIddictScopeDescriptor { Name = extraScope, Resources = { extraScope + "-api" } });
            }
        }

        var client = await host.RegisterServiceAsync(extraScope is null ? ["read", "write"] : ["read", extraScope]);
        string applicationId;
        await using (var scopeServices = host.Services.CreateAsyncScope())
        {
            var applications = scopeServices.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
            var application = (await applications.FindByClientIdAsync(client.ClientId))!;
            applicationId = (await applications.GetIdAsync(application))!;
            if (lifetime is { } span)
            {
                var descriptor = new OpenIddictApplicationDescriptor();
                await applications.PopulateAsync(descriptor, application);
                descriptor.Settings[OpenIddictConstants.Settings.TokenLifetimes.AccessToken] =
                    span.ToString("c", System.Globalization.CultureInfo.InvariantCulture);
                await applications.UpdateAsync(application, descriptor);
            }
        }

        var form = new Dictionary<string, string> { ["grant_type"] = "client_credentials" };
        if (scope is not null)
        {
            form["scope"] = scope;
        }

        if (!basic)
        {
            form["client_id"] = client.ClientId;
            form["client_secret"] = client.ClientSecret!;
        }

        using var api = host.CreateApiClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token") { Content = new FormUrlEncodedContent(form) };
        if (basic)
        {
            request.Headers.Authorization = OAuthFlow.Basic(client);
        }

        var before = host.Extracted;
        var response = await api.SendAsync(request);
        var extracted = host.Extracted - before;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var body = document.RootElement.Clone();
        var token = new JsonWebToken(body.GetProperty("access_token").GetString());

        await using var services = host.Services.CreateAsyncScope();
        var tokens = services.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>();
        var entry = await tokens.FindByIdAsync(token.GetPayloadValue<string>("oi_tkn_id"));
        Assert.NotNull(entry);
        var row = new OpenIddictTokenDescriptor();
        await tokens.PopulateAsync(row, entry);
        return new Issued(extracted, client, applicationId, response, body, token, row);
    }

    private static void AssertSame(Issued expected, Issued actual)
    {
        // The response: its fields, the remaining lifetime, the headers OpenIddict's host writes.
        Assert.Equal(Names(expected.Body), Names(actual.Body));
        Assert.Equal(expected.Body.GetProperty("token_type").GetString(), actual.Body.GetProperty("token_type").GetString());
        Assert.InRange(
            actual.Body.GetProperty("expires_in").GetInt64() - expected.Body.GetProperty("expires_in").GetInt64(), -1, 1);
        Assert.Equal(Scope(expected.Body), Scope(actual.Body));
        foreach (var header in new[] { "Cache-Control", "Pragma" })
        {
            Assert.Equal(expected.Response.Headers.GetValues(header), actual.Response.Headers.GetValues(header));
        }

        Assert.Equal(expected.Response.Content.Headers.GetValues("Expires"), actual.Response.Content.Headers.GetValues("Expires"));
        Assert.Equal(expected.Response.Content.Headers.ContentType, actual.Response.Content.Headers.ContentType);

        // The token: header, claim names, the values that do not depend on the client or the moment.
        Assert.Equal(expected.Token.Alg, actual.Token.Alg);
        Assert.Equal(expected.Token.Typ, actual.Token.Typ);
        Assert.False(string.IsNullOrEmpty(actual.Token.Kid));
        Assert.Equal(Names(Payload(expected.Token)), Names(Payload(actual.Token)));
        foreach (var claim in new[] { "iss", "aud", "scope", "name" })
        {
            Assert.Equal(Payload(expected.Token).GetProperty(claim).GetRawText(), Payload(actual.Token).GetProperty(claim).GetRawText());
        }

        foreach (var claim in new[] { "sub", "client_id", "oi_prst" })
        {
            Assert.Equal(actual.Client.ClientId, actual.Token.GetPayloadValue<string>(claim));
        }

        Assert.Equal(
            expected.Token.GetPayloadValue<long>("exp") - expected.Token.GetPayloadValue<long>("iat"),
            actual.Token.GetPayloadValue<long>("exp") - actual.Token.GetPayloadValue<long>("iat"));

        // The row: what introspection and revocation read.
        Assert.Equal(expected.Row.Type, actual.Row.Type);
        Assert.Equal(expected.Row.Status, actual.Row.Status);
        Assert.Equal(actual.Client.ClientId, actual.Row.Subject);
        Assert.Equal(actual.ApplicationId, actual.Row.ApplicationId);
        Assert.Null(actual.Row.AuthorizationId);
        Assert.Null(actual.Row.Payload);
        Assert.Null(actual.Row.ReferenceId);
        Assert.Equal(actual.Token.GetPayloadValue<long>("iat"), actual.Row.CreationDate!.Value.ToUnixTimeSeconds());
        Assert.Equal(actual.Token.GetPayloadValue<long>("exp"), actual.Row.ExpirationDate!.Value.ToUnixTimeSeconds());
        Assert.Equal(
            expected.Row.CreationDate!.Value.UtcTicks % TimeSpan.TicksPerSecond, actual.Row.CreationDate!.Value.UtcTicks % TimeSpan.TicksPerSecond);
    }

    private static JsonElement Payload(JsonWebToken token) =>
        JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(Pad(token.EncodedPayload)))).RootElement;

    private static string Pad(string base64Url)
    {
        var base64 = base64Url.Replace('-', '+').Replace('_', '/');
        return base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
    }

    private static List<string> Names(JsonElement element) => [.. element.EnumerateObject().Select(property => property.Name).Order(StringComparer.Ordinal)];

    private static string? Scope(JsonElement body) => body.TryGetProperty("scope", out var scope) ? scope.GetString() : null;

    /// <summary>The two hosts compared: the default (with the fast path) and one with it off.</summary>
    public sealed class Hosts : IAsyncDisposable
    {
        public Observed Fast { get; } = new(new Dictionary<string, string?>());

        public Observed Pipeline { get; } = new(new Dictionary<string, string?> { ["OAuth:Acceleration"] = "false" });

        public async ValueTask DisposeAsync()
        {
            await Fast.DisposeAsync();
            await Pipeline.DisposeAsync();
        }
    }

    /// <summary>A host that counts the token requests reaching OpenIddict's pipeline (its extraction event).</summary>
    public sealed class Observed(IReadOnlyDictionary<string, string?> settings)
        : AuthServerFactory(TestDatabase.NewSqlitePath(), settings)
    {
        private int _extracted;

        public int Extracted => Volatile.Read(ref _extracted);

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.ConfigureTestServices(services => services.AddOpenIddict().AddServer().AddEventHandler<ExtractTokenRequestContext>(
                handler => handler.SetOrder(int.MinValue).UseInlineHandler(_ =>
                {
                    Interlocked.Increment(ref _extracted);
                    return ValueTask.CompletedTask;
                })));
        }
    }
}
