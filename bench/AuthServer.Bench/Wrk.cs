using System.Globalization;
using System.Text.Json;

namespace AuthServer.Bench;

/// <summary>One measured run: what wrk (or the harness's own flow driver) counted.</summary>
/// <param name="Requests">Requests (or flows) completed.</param>
/// <param name="Seconds">How long the run took.</param>
/// <param name="Errors">Failed requests: connection errors, timeouts and HTTP statuses of 400 and above.</param>
/// <param name="P50Ms">Median latency.</param>
/// <param name="P99Ms">99th percentile latency.</param>
/// <param name="CpuMs">CPU time the server process spent per request (or flow) during the run, when measured.</param>
internal sealed record RunResult(long Requests, double Seconds, long Errors, double P50Ms, double P99Ms, double? CpuMs = null)
{
    public double PerSecond => Requests / Seconds;
}

/// <summary>A load to drive with wrk: URL, Lua script, headers and the script's environment.</summary>
internal sealed record WrkLoad(Uri Url, string Script, IReadOnlyList<string> Headers, IReadOnlyDictionary<string, string>? Environment = null);

/// <summary>Runs wrk (Debian's package) and reads the JSON line our Lua <c>done()</c> prints.</summary>
internal static class Wrk
{
    public static async Task<RunResult> RunAsync(BenchSettings settings, WrkLoad load, int seconds)
    {
        var arguments = new List<string>
        {
            "-t", settings.Threads.ToString(CultureInfo.InvariantCulture),
            "-c", settings.Connections.ToString(CultureInfo.InvariantCulture),
            "-d", $"{seconds}s",
            "--timeout", "10s",
            "-s", Path.Combine(settings.WrkDirectory, load.Script),
        };
        foreach (var header in load.Headers)
        {
            arguments.Add("-H");
            arguments.Add(header);
        }

        arguments.Add(load.Url.ToString());
        var environment = new Dictionary<string, string>
        {
            ["BENCH_WRK_DIR"] = settings.WrkDirectory,
            ["BENCH_THREADS"] = settings.Threads.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in load.Environment ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        var output = await Command.RunAsync("wrk", arguments, environment);
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("BENCH ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException("wrk printed no result:\n" + output);
        using var json = JsonDocument.Parse(line["BENCH ".Length..]);
        var root = json.RootElement;
        return new RunResult(
            root.GetProperty("requests").GetInt64(),
            root.GetProperty("duration_us").GetInt64() / 1e6,
            root.GetProperty("errors").GetInt64(),
            root.GetProperty("p50_us").GetInt64() / 1000.0,
            root.GetProperty("p99_us").GetInt64() / 1000.0);
    }
}
