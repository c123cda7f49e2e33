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
}
