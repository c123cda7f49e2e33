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
}
