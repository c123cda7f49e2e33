using AuthServer.Tests.Infrastructure;

namespace AuthServer.Tests.Cli;

/// <summary>Settings of keys, retention and observability that cannot work stop the server at start, naming the key.</summary>
public sealed class OperationsSettingsTests
{
    [Theory]
    [InlineData("OAuth__Keys__RetainAfter", "00:10:00", "OAuth:Keys:RetainAfter")]
    [InlineData("OAuth__Keys__AnnounceBefore", "100.00:00:00", "OAuth:Keys:AnnounceBefore")]
    [InlineData("Retention__Interval", "00:00:00.5", "Retention:Interval")]
    [InlineData("Retention__BatchSize", "1", "Retention:BatchSize")]
    [InlineData("Observability__PrometheusPath", "metrics", "Observability:PrometheusPath")]
    [InlineData("Observability__TraceSampleRatio", "2", "Observability:TraceSampleRatio")]
    public async Task AnUnworkableSetting_StopsWithItsName_NotAStackTrace(string variable, string value, string key)
    {
        // Without a verb the executable serves: it must refuse to start instead.
        var result = await CliRunner.RunAsync(
            TestDatabase.NewSqlitePath(), new Dictionary<string, string> { [variable] = value }, "--urls", "http://127.0.0.1:0");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Configuration error", result.Stderr, StringComparison.Ordinal);
        Assert.Contains(key, result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeysRotate_WithAnUnknownUse_IsRefused()
    {
        var result = await CliRunner.RunAsync(TestDatabase.NewSqlitePath(), "keys", "rotate", "--use", "both");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("both", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeysRotate_OfACertificateFromConfiguration_SaysToDeployOne_AndRotatesTheRest()
    {
        var path = Path.Combine(Path.GetTempPath(), $"signing-{Guid.NewGuid():N}.pfx");
        using (var ec = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256))
        {
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest(
                "CN=signing", ec, System.Security.Cryptography.HashAlgorithmName.SHA256);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
            await File.WriteAllBytesAsync(path, certificate.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pfx));
        }

        try
        {
            var database = TestDatabase.NewSqlitePath();
            var settings = new Dictionary<string, string> { ["OAuth__SigningCertificatePath"] = path };

            var signing = await CliRunner.RunAsync(database, settings, "keys", "rotate", "--use", "sig");
            Assert.Equal(1, signing.ExitCode);
            Assert.Contains("OAuth:SigningCertificatePath", signing.Stderr, StringComparison.Ordinal);

            // Without --use, the keys this server keeps (here the encryption key) rotate.
            var rest = await CliRunner.RunAsync(database, settings, "keys", "rotate");
            Assert.True(rest.ExitCode == 0, rest.Stderr);
            using var added = System.Text.Json.JsonDocument.Parse(rest.Stdout);
            Assert.Equal(["enc"], added.RootElement.EnumerateArray().Select(key => key.GetProperty("use").GetString()));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
