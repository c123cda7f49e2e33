using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace AuthServer.Bench;

/// <summary>The results as markdown: the table, the target ratios, the machine; written to <c>bench/results/</c>.</summary>
internal static class Report
{
    public static string Write(BenchSettings settings, IReadOnlyList<Measurement> results, IReadOnlyList<StepCost> steps, double hashCpuMs)
    {
        var text = new StringBuilder();
        var now = DateTimeOffset.UtcNow;
        text.AppendLine(CultureInfo.InvariantCulture, $"# Benchmark results, {now:yyyy-MM-dd HH:mm} UTC");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Machine: {Machine()}.");
        text.AppendLine(CultureInfo.InvariantCulture,
            $"Load: wrk -t{settings.Threads} -c{settings.Connections}; a warm-up of {settings.Warmup} s, extended in {Harness.SettleWindowSeconds} s steps while the server's JIT is still recompiling (tiering thread above {Harness.SettledShare:P0} of a core; at most {Harness.MaxWarmupSeconds} s; the warm-up column), then {settings.Runs} runs of {settings.Duration} s; the median run is shown (errors: all runs together). Full sign-in flow: {settings.FlowConcurrency} people at once, driven by the harness. A scenario with a reference (oidc-provider, the bare endpoint, the password hash) has a run of the reference before its first run and after each of its runs, and its target is the median of its runs' ratios to the mean of the two reference runs around each; the password hash's CPU column is the calibrating process's CPU per hash. Database: {settings.DatabaseName}.");
        text.AppendLine();
        text.AppendLine("| scenario | server | throughput | p50 | p99 | p99/p50 | errors | server CPU per request | warm-up |");
        text.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var result in results)
        {
            var median = result.Median;
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {result.Scenario} | {result.Server} | {median.PerSecond:N0} {result.Unit} | {median.P50Ms:F2} ms | {median.P99Ms:F2} ms | {Ratio(median.P99Ms, median.P50Ms)} | {median.Errors} | {Cpu(median.CpuMs)} | {(result.Warmup > TimeSpan.Zero ? $"{result.Warmup.TotalSeconds:F0} s" : "")} |");
        }

        text.AppendLine();
        text.AppendLine("## Targets");
        text.AppendLine();
        text.AppendLine("| target | measured | met |");
        text.AppendLine("|---|---:|:-:|");
        Target(text, "client_credentials tokens/s ≥ 1.5 × oidc-provider", Find(results, "client_credentials", "AuthServer"), Find(results, "client_credentials", "oidc-provider"), 1.5);
        Target(text, "introspections/s ≥ 1.5 × oidc-provider", Find(results, "introspection", "AuthServer"), Find(results, "introspection", "oidc-provider"), 1.5);
        Target(text, "GET /v1/models (API key) ≥ 0.75 × bare endpoint", Find(results, "GET /v1/models (API key)", "AuthServer"), Find(results, "bare endpoint", "calibration"), 0.75);
        Target(text, "GET /v1/user/profile (JWT) ≥ 0.75 × bare endpoint", Find(results, "GET /v1/user/profile (JWT)", "AuthServer"), Find(results, "bare endpoint", "calibration"), 0.75);
        OverheadTarget(text, "full sign-in: server CPU per flow − one password hash's CPU ≤ 10 ms", Find(results, "full sign-in flow", "AuthServer"), Find(results, "password hash (floor for sign-in)", "calibration"), 10);
        var scenarios = results.Where(r => r.Server != "calibration").ToList();
        var clean = scenarios.Where(r => r.Median.Errors == 0 && r.Median.P99Ms <= 10 * r.Median.P50Ms).ToList();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"| no errors and p99 ≤ 10 × p50 in every scenario | {clean.Count} of {scenarios.Count} | {(clean.Count == scenarios.Count ? "yes" : "no")} |");
        var failing = scenarios.Except(clean).Select(r => $"{r.Scenario} ({r.Server})").ToList();
        if (failing.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("Not within errors/p99: " + string.Join(", ", failing) + ".");
        }

        if (steps.Count > 0)
        {
            Steps(text, steps, hashCpuMs);
        }

        var markdown = text.ToString();
        Directory.CreateDirectory(settings.ResultsDirectory);
        File.WriteAllText(Path.Combine(settings.ResultsDirectory, $"{now:yyyy-MM-dd-HHmm}.md"), markdown);
        File.WriteAllText(Path.Combine(settings.ResultsDirectory, "latest.md"), markdown);
        return markdown;
    }

    /// <summary>Where a sign-in's server CPU goes, step by step (see <see cref="SignInLoad.StepsAsync"/>).</summary>
    private static void Steps(StringBuilder text, IReadOnlyList<StepCost> steps, double hashCpuMs)
    {
        text.AppendLine();
        text.AppendLine("## The sign-in flow, step by step");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"One person, one flow at a time ({steps[0].Flows} flows): the server's CPU time from one step's answer to the next, from its threads' own accounting (/proc/<pid>/task/*/schedstat), and the latency the harness saw. A server with one request at a time also pays for waking its threads and for their spinning once idle, so each step costs more here than under load (where the table above measures whole flows): the figures show where a flow's time goes, not what it costs at full speed. The sign-in step holds the password hash, whose cost varies with the speed of the VM from minute to minute; one hash on one thread of the harness, just after, is given for scale.");
        text.AppendLine();
        text.AppendLine("| step | server CPU | latency |");
        text.AppendLine("|---|---:|---:|");
        foreach (var step in steps)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {step.Step} | {Cpu(step.CpuMs)} | {step.LatencyMs:F1} ms |");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"| whole flow | {Cpu(steps.Sum(step => step.CpuMs))} | {steps.Sum(step => step.LatencyMs):F1} ms |");
        text.AppendLine(CultureInfo.InvariantCulture, $"| for scale: one password hash, one thread of the harness | {Cpu(hashCpuMs)} | |");
    }

    /// <summary>CPU time per request as people read it: microseconds below a millisecond.</summary>
    public static string Cpu(double? milliseconds) => milliseconds switch
    {
        null => "",
        < 1 => string.Create(CultureInfo.InvariantCulture, $"{milliseconds * 1000:N0} µs"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{milliseconds:F1} ms"),
    };

    private static Measurement? Find(IReadOnlyList<Measurement> results, string scenario, string server) =>
        results.FirstOrDefault(r => r.Scenario == scenario && r.Server == server);

    private static void Target(StringBuilder text, string name, Measurement? ours, Measurement? reference, double ratio)
    {
        if (ours is null || reference is null)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {name} | not measured | |");
            return;
        }

        // Runs taken side by side are compared (the median of their ratios); the medians only when they were not.
        var measured = ours.Ratios is { Count: > 0 } ratios ? Harness.Middle(ratios) : ours.Median.PerSecond / reference.Median.PerSecond;
        text.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {measured:F2} × | {(measured >= ratio ? "yes" : "no")} |");
    }

    /// <summary>
    /// What a flow costs the server beyond its one password hash: the server's CPU per flow less the CPU per hash of
    /// the calibration runs interleaved with the flows, so that the figure does not move with the machine's hash speed.
    /// </summary>
    private static void OverheadTarget(StringBuilder text, string name, Measurement? ours, Measurement? hash, double maxMs)
    {
        var hashRuns = hash?.Runs.Where(run => run.CpuMs is not null).Select(run => run.CpuMs!.Value).ToList() ?? [];
        if (ours?.Median.CpuMs is not { } flowMs || hashRuns.Count == 0)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {name} | not measured | |");
            return;
        }

        var overhead = flowMs - Harness.Middle(hashRuns);
        text.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {Cpu(overhead)} | {(overhead <= maxMs ? "yes" : "no")} |");
    }

    private static string Ratio(double p99, double p50) => p50 <= 0 ? "–" : (p99 / p50).ToString("F1", CultureInfo.InvariantCulture);

    private static string Machine()
    {
        static string? Read(string path, string prefix) =>
            File.Exists(path) ? File.ReadLines(path).FirstOrDefault(line => line.StartsWith(prefix, StringComparison.Ordinal))?.Split(':', '=')[1].Trim().Trim('"') : null;

        var cpu = Read("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString();
        var memory = Read("/proc/meminfo", "MemTotal") is { } kb ? $"{long.Parse(kb.Split(' ')[0], CultureInfo.InvariantCulture) / 1024 / 1024} GiB" : "?";
        var os = Read("/etc/os-release", "PRETTY_NAME") ?? RuntimeInformation.OSDescription;
        return $"{Environment.ProcessorCount} cores ({cpu}), {memory} memory, {os}, {RuntimeInformation.FrameworkDescription}, Node.js {NodeVersion()}, server GC";
    }

    private static string NodeVersion()
    {
        try
        {
            return Command.RunAsync("node", ["--version"]).GetAwaiter().GetResult().Trim();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "missing";
        }
    }
}
