using System.Diagnostics;
using Microsoft.AspNetCore.Identity;

namespace AuthServer.Bench;

/// <summary>The floors the scenarios are compared with.</summary>
internal static class Calibration
{
    /// <summary>
    /// <c>bare &lt;port&gt; &lt;body file&gt;</c>: a bare ASP.NET Core endpoint answering <c>GET /v1/models</c> with the
    /// same JSON as the platform API, with no authentication, limiting or metering: the floor for <c>/v1</c>.
    /// </summary>
    public static async Task<int> ServeBareAsync(string[] args)
    {
        var body = await File.ReadAllBytesAsync(args[1]);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = ["--urls", $"http://127.0.0.1:{args[0]}"] });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.MapGet("/v1/models", async context =>
        {
            context.Response.ContentType = "application/json; charset=utf-8";
            await context.Response.Body.WriteAsync(body);
        });
        app.MapGet("/healthz", () => "Healthy");
        await app.RunAsync();
        return 0;
    }

    /// <summary>
    /// <c>sink &lt;port&gt;</c>: an OTLP/HTTP collector that accepts every export and keeps nothing, so that the
    /// server's telemetry costs what it costs to produce and send, not what a real collector costs.
    /// </summary>
    public static async Task<int> ServeSinkAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = ["--urls", $"http://127.0.0.1:{args[0]}"] });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.MapPost("/v1/{signal}", async context =>
        {
            // An empty protobuf message is a valid (empty) export response.
            await context.Request.Body.CopyToAsync(Stream.Null);
            context.Response.ContentType = "application/x-protobuf";
        });
        app.MapGet("/healthz", () => "Healthy");
        await app.RunAsync();
        return 0;
    }

    /// <summary>
    /// Password checks per second with ASP.NET Core Identity's hasher in its default (and the server's) settings,
    /// on every core at once: the floor for sign-in, where each sign-in pays one check.
    /// </summary>
    public static RunResult PasswordHashRate(TimeSpan duration)
    {
        var check = PasswordCheck();
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var stopwatch = Stopwatch.StartNew();
        var latencies = new List<double>[Environment.ProcessorCount];
        Parallel.For(0, Environment.ProcessorCount, worker =>
        {
            var mine = latencies[worker] = [];
            while (stopwatch.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                check();
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        });
        var seconds = stopwatch.Elapsed.TotalSeconds;
        process.Refresh();
        var all = latencies.SelectMany(list => list).Order().ToList();

        // The CPU this process spent per hash (the harness's own idle work included, which is little): the figure to
        // set beside the server's CPU per flow, since a flow pays one hash.
        var cpuMs = (process.TotalProcessorTime - cpuBefore).TotalMilliseconds / Math.Max(1, all.Count);
        return new RunResult(all.Count, seconds, 0, Percentile(all, 0.5), Percentile(all, 0.99), cpuMs);
    }

    /// <summary>
    /// The CPU time of one password check, checked <paramref name="count"/> times in a row on one thread: set beside
    /// the sign-in step of the step-by-step table, for scale.
    /// </summary>
    public static double OneHashCpuMs(int count)
    {
        var check = PasswordCheck();
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        for (var i = 0; i < count; i++)
        {
            check();
        }

        process.Refresh();
        return (process.TotalProcessorTime - cpuBefore).TotalMilliseconds / count;
    }

    /// <summary>One password check with Identity's default hasher, as a sign-in makes it; throws if it fails.</summary>
    private static Action PasswordCheck()
    {
        const string Password = "a long enough password";
        var hasher = new PasswordHasher<object>();
        var user = new object();
        var hash = hasher.HashPassword(user, Password);
        return () =>
        {
            if (hasher.VerifyHashedPassword(user, hash, Password) == PasswordVerificationResult.Failed)
            {
                throw new InvalidOperationException("The calibration hash did not verify.");
            }
        };
    }

    public static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}
