using System.Net;
using System.Text.Json;
using AuthServer.Data;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.Hosting;

/// <summary>
/// Outside Development the server starts only with what keeps a copy of its database from being enough to sign
/// tokens (a protected key ring, or certificates), and with a configured issuer that no Host header can change.
/// </summary>
public sealed class ProductionStartTests
{
    [Fact]
    public async Task Production_WithoutKeyRingProtection_RefusesToStart_NamingTheSetting_AndStoresNoKey()
    {
        var database = TestDatabase.NewSqlitePath();

        var result = await ServeAsync(database, new Dictionary<string, string> { ["OAuth__Issuer"] = "https://auth.example.test/" });

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("DataProtection:CertificatePath", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, await CountAsync(database, "ServerKeys"));
        Assert.Equal(0, await CountAsync(database, "DataProtectionKeys"));
    }

    [Fact]
    public async Task Production_WithoutIssuer_RefusesToStart_NamingTheSetting()
    {
        var result = await ServeAsync(TestDatabase.NewSqlitePath(), new Dictionary<string, string>
        {
            ["DataProtection__CertificatePath"] = ProductionSettings.KeyRingCertificatePath,
        });

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("OAuth:Issuer is required", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Production_WithKeyRingCertificate_NoKeyRingRowHoldsAKeyInClear()
    {
        await using var factory = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), ProductionSettings.For("https://auth.example.test/"))
        { EnvironmentName = "Production" };
        using var https = factory.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://auth.example.test") });
        Assert.Equal(HttpStatusCode.OK, (await https.GetAsync("/.well-known/jwks")).StatusCode);

        await using var scope = factory.Services.CreateAsyncScope();
        var rows = await scope.ServiceProvider.GetRequiredService<AuthDbContext>().DataProtectionKeys.AsNoTracking().ToListAsync();

        Assert.NotEmpty(rows);
        Assert.All(rows, row =>
        {
            Assert.Contains("encryptedSecret", row.Xml, StringComparison.Ordinal);
            Assert.DoesNotContain("<masterKey", row.Xml, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Production_WithSigningAndEncryptionCertificates_StartsWithoutKeyRingCertificate()
    {
        await using var factory = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), new Dictionary<string, string?>
        {
            ["OAuth:Issuer"] = "https://auth.example.test/",
            ["OAuth:SigningCertificatePath"] = ProductionSettings.NewCertificateFile("signing"),
            ["OAuth:EncryptionCertificatePath"] = ProductionSettings.NewCertificateFile("encryption"),
        })
        { EnvironmentName = "Production" };
        using var https = factory.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://auth.example.test") });

        Assert.Equal(HttpStatusCode.OK, (await https.GetAsync("/.well-known/openid-configuration")).StatusCode);
    }

    [Fact]
    public async Task Production_AnotherHostHeader_IsRefused_AndTheIssuerIsTheConfiguredOne()
    {
        await using var factory = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), ProductionSettings.For("https://auth.example.test/"))
        { EnvironmentName = "Production" };
        using var evil = factory.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://evil.example") });
        using var good = factory.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://auth.example.test") });

        using var refused = await evil.GetAsync("/.well-known/openid-configuration");
        using var discovery = JsonDocument.Parse(await good.GetStringAsync("/.well-known/openid-configuration"));

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("https://auth.example.test/", discovery.RootElement.GetProperty("issuer").GetString());
    }

    /// <summary>Starts the real executable in Production, which is expected to stop at once; killed after two minutes.</summary>
    private static Task<CliResult> ServeAsync(string database, Dictionary<string, string> environment)
    {
        environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        return CliRunner.RunAsync(database, environment, "--urls", "http://127.0.0.1:0");
    }

    private static async Task<long> CountAsync(string database, string table) =>
        Convert.ToInt64(await TestDatabase.ScalarAsync(database, $"SELECT COUNT(*) FROM \"{table}\""), System.Globalization.CultureInfo.InvariantCulture);
}
