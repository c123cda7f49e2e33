using System.Net;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace AuthServer.Tests.ApiReference;

/// <summary>
/// The OpenAPI document at <c>/openapi/v1.json</c>: valid OpenAPI 3.1 as Microsoft.OpenApi's reader reads it, every
/// mapped <c>/v1</c> and <c>/admin</c> operation in it, with its security, errors and headers.
/// </summary>
public sealed class OpenApiDocumentTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    private async Task<(OpenApiDocument Document, OpenApiDiagnostic Diagnostic, string Json)> ReadAsync()
    {
        using var api = factory.CreateApiClient();
        using var response = await api.GetAsync("/openapi/v1.json", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var settings = new OpenApiReaderSettings();
        var result = OpenApiDocument.Parse(json, "json", settings);
        return (result.Document!, result.Diagnostic!, json);
    }

    [Fact]
    public async Task Document_IsValidOpenApi31()
    {
        var (document, diagnostic, json) = await ReadAsync();

        Assert.Empty(diagnostic.Errors);
        Assert.Equal(OpenApiSpecVersion.OpenApi3_1, diagnostic.SpecificationVersion);
        Assert.Contains("\"openapi\": \"3.1", json, StringComparison.Ordinal);
        var errors = document.Validate(Microsoft.OpenApi.ValidationRuleSet.GetDefaultRuleSet());
        Assert.Empty(errors ?? []);
    }

    [Fact]
    public async Task Document_HasEveryMappedPlatformAndAdminOperation_AndNothingElse()
    {
        var (document, _, _) = await ReadAsync();
        var mapped = factory.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(endpoint => endpoint.RoutePattern.RawText is { } raw && (IsUnder(raw, "/v1") || IsUnder(raw, "/admin")))
            .SelectMany(endpoint => endpoint.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods
                .Select(method => (Path: "/" + endpoint.RoutePattern.RawText!.Trim('/'), Method: method)))
            .ToList();
        Assert.Contains(("/v1/models", "GET"), mapped);
        Assert.Contains(("/admin/clients", "POST"), mapped);

        var documented = document.Paths
            .SelectMany(path => (path.Value.Operations ?? []).Keys.Select(method => (Path: path.Key.TrimEnd('/'), Method: method.Method.ToUpperInvariant())))
            .ToList();
        Assert.All(mapped, operation => Assert.Contains(operation, documented));
        Assert.All(documented, operation => Assert.True(IsUnder(operation.Path, "/v1") || IsUnder(operation.Path, "/admin"), operation.Path));
    }

    [Fact]
    public async Task PlatformOperations_DescribeTheirResultsSecurityErrorsAndHeaders()
    {
        var (document, _, _) = await ReadAsync();
        var schemes = document.Components!.SecuritySchemes!;
        Assert.Equal(SecuritySchemeType.Http, schemes["bearer"].Type);
        Assert.NotNull(schemes["oauth2"].Flows!.AuthorizationCode);
        Assert.Contains("admin", schemes["adminClientCredentials"].Flows!.ClientCredentials!.Scopes!.Keys);

        var models = document.Paths["/v1/models"].Operations![HttpMethod.Get];
        Assert.Equal("listModels", models.OperationId);
        var ok = models.Responses!["200"];
        Assert.NotNull(ok.Content!["application/json"].Schema);
        Assert.Contains("X-RateLimit-Remaining", ok.Headers!.Keys);
        Assert.Contains("X-Request-Id", ok.Headers!.Keys);
        foreach (var status in new[] { "401", "403", "429", "503" })
        {
            Assert.True(models.Responses.ContainsKey(status), status);
        }

        Assert.Contains("Retry-After", models.Responses["429"].Headers!.Keys);
        var security = models.Security!.SelectMany(requirement => requirement.Keys.Select(scheme => scheme.Reference.Id)).ToList();
        Assert.Equal(["bearer", "oauth2"], security);
        Assert.Contains("read", models.Security![1].Values.Single());

        var createClient = document.Paths["/admin/clients"].Operations![HttpMethod.Post];
        Assert.Equal("adminClientCredentials", createClient.Security!.Single().Keys.Single().Reference.Id);
        Assert.True(createClient.Responses!.ContainsKey("401"));
        Assert.True(document.Components.Schemas!.ContainsKey("PlatformError"));
        Assert.True(document.Components.Schemas!.ContainsKey("OAuthError"));
    }

    [Fact]
    public async Task ReferencePage_OnInDevelopment()
    {
        using var api = factory.CreateApiClient();
        using var start = await api.GetAsync("/docs/api", TestContext.Current.CancellationToken);
        Assert.True(start.StatusCode == HttpStatusCode.Found, $"{start.StatusCode} {start.Headers.Location}");
        // Scalar sends /docs/api on to /docs/api/ (a relative Location).
        using var page = await api.GetAsync(new Uri(start.RequestMessage!.RequestUri!, start.Headers.Location!), TestContext.Current.CancellationToken);
        Assert.True(page.StatusCode == HttpStatusCode.OK, $"{page.StatusCode} at {start.Headers.Location}");
        Assert.Contains("'unsafe-inline'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Contains("openapi/v1.json", await page.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, HttpStatusCode.NotFound)]
    [InlineData("true", HttpStatusCode.OK)]
    public async Task ReferencePage_InProduction_OnlyBySetting(string? enabled, HttpStatusCode expected)
    {
        var settings = ProductionSettings.For("https://auth.example.test/", new Dictionary<string, string?> { ["ApiReference:Enabled"] = enabled });
        await using var production = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), settings) { EnvironmentName = "Production" };
        using var https = production.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://auth.example.test") });

        using var page = await https.GetAsync("/docs/api", TestContext.Current.CancellationToken);
        Assert.Equal(expected, page.StatusCode);
        using var document = await https.GetAsync("/openapi/v1.json", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
    }

    private static bool IsUnder(string path, string prefix) =>
        path.TrimStart('/').Equals(prefix.TrimStart('/'), StringComparison.OrdinalIgnoreCase)
        || path.TrimStart('/').StartsWith(prefix.TrimStart('/') + "/", StringComparison.OrdinalIgnoreCase);
}
