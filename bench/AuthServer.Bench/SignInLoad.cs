using System.Diagnostics;

namespace AuthServer.Bench;

/// <summary>
/// The full sign-in scenario: wrk cannot carry a multi-step flow with cookies and forms, so the harness drives it
/// itself: N people at once, each flow with a fresh session (authorize, sign-in page, sign in, consent, code,
/// redeem). Throughput is flows per second; latency is per whole flow.
/// </summary>
internal static class SignInLoad
{
    public static async Task<RunResult> RunAsync(
        HttpClient http, Client app, IReadOnlyList<(string Email, string Password)> people, int concurrency, TimeSpan duration)
    {
        var latencies = new List<double>[concurrency];
        long errors = 0;
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var mine = latencies[worker] = [];
            var (email, password) = people[worker % people.Count];
            while (stopwatch.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await Flows.FullSignInAsync(http, app, email, password);
                    mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                catch (Exception exception) when (exception is InvalidOperationException or HttpRequestException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        })));
        var all = latencies.SelectMany(list => list).Order().ToList();
        return new RunResult(all.Count, stopwatch.Elapsed.TotalSeconds, errors, Calibration.Percentile(all, 0.5), Calibration.Percentile(all, 0.99));
    }

    /// <summary>
    /// Where a flow's server CPU goes, step by step: one person signs in again and again for <paramref name="duration"/>,
    /// one flow at a time, so that what the server's threads use between two steps is that step's (the server's
    /// background work, little, falls in whichever step it happens). Returns each step's mean CPU and latency.
    /// </summary>
    public static async Task<IReadOnlyList<StepCost>> StepsAsync(
        HttpClient http, Client app, (string Email, string Password) person, ServerProcess server, TimeSpan duration)
    {
        var steps = Flows.SignInSteps;
        var cpu = new double[steps.Count];
        var latency = new double[steps.Count];
        var flows = 0;
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < duration)
        {
            var times = server.ThreadTimes();
            var started = Stopwatch.GetTimestamp();
            await Flows.FullSignInAsync(http, app, person.Email, person.Password, step =>
            {
                latency[step] += Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                cpu[step] += server.CpuSince(times, out times).TotalMilliseconds;
                started = Stopwatch.GetTimestamp();
            });
            flows++;
        }

        return [.. steps.Select((step, i) => new StepCost(step, cpu[i] / Math.Max(1, flows), latency[i] / Math.Max(1, flows), flows))];
    }
}

/// <summary>One step of the sign-in flow: the server's mean CPU time and the mean latency over <paramref name="Flows"/> flows.</summary>
internal sealed record StepCost(string Step, double CpuMs, double LatencyMs, int Flows);
