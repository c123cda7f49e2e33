using System.Globalization;

namespace AuthServer.Bench;

/// <summary>The harness's settings, from environment variables (all optional).</summary>
internal sealed record BenchSettings
{
    public required string Root { get; init; }

    /// <summary><c>BENCH_DURATION</c>: seconds of each measured run (10).</summary>
    public int Duration { get; init; } = 10;

    /// <summary><c>BENCH_WARMUP</c>: seconds of the first warm-up step (10); it goes on while the JIT is busy (Harness.WarmUpAsync).</summary>
    public int Warmup { get; init; } = 10;

    /// <summary><c>BENCH_RUNS</c>: measured runs per scenario; the median is reported (3).</summary>
    public int Runs { get; init; } = 3;

    /// <summary><c>BENCH_THREADS</c>, <c>BENCH_CONNECTIONS</c>: wrk's <c>-t</c> and <c>-c</c> (2, 32).</summary>
    public int Threads { get; init; } = 2;

    public int Connections { get; init; } = 32;

    /// <summary><c>BENCH_FLOW_CONCURRENCY</c>: people signing in at once in the full-flow scenario (4 per core).</summary>
    public int FlowConcurrency { get; init; } = 4 * Environment.ProcessorCount;

    /// <summary><c>BENCH_SQLSERVER</c>: a SQL Server connection string; empty for SQLite (the default).</summary>
    public string? SqlServer { get; init; }

    /// <summary><c>BENCH_POSTGRES</c>: a PostgreSQL connection string (run.sh sets it for <c>BENCH_DATABASE=postgres</c>,
    /// on a server it starts).</summary>
    public string? PostgreSql { get; init; }

    /// <summary>The server's <c>Database:Provider</c>: SQL Server, then PostgreSQL, when named; SQLite otherwise.</summary>
    public string DatabaseProvider => SqlServer is not null ? "SqlServer" : PostgreSql is not null ? "PostgreSql" : "Sqlite";

    /// <summary>The database, as the report names it.</summary>
    public string DatabaseName => DatabaseProvider switch
    {
        "SqlServer" => "SQL Server",
        "PostgreSql" => "PostgreSQL (a local server, fsync on)",
        _ => "SQLite (WAL) on local disk",
    };

    /// <summary><c>BENCH_ONLY</c>: a comma-separated list of scenario names to run (all when empty).</summary>
    public IReadOnlySet<string>? Only { get; init; }

    public string OutDirectory => Path.Combine(Root, "bench", ".out");

    public string ServerDll => Path.Combine(OutDirectory, "server", "AuthServer.dll");

    public string WrkDirectory => Path.Combine(Root, "bench", "wrk");

    public string PeerDirectory => Path.Combine(Root, "bench", "peers", "oidc-provider");

    public string ResultsDirectory => Path.Combine(Root, "bench", "results");

    public bool Includes(string scenario) => Only is null || Only.Contains(scenario);

    public static BenchSettings FromEnvironment()
    {
        var root = Directory.GetCurrentDirectory();
        while (!File.Exists(Path.Combine(root, "AuthServer.sln")))
        {
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("Run the harness inside the repository.");
        }

        static int Number(string name, int fallback) =>
            int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
                ? value
                : fallback;

        var only = Environment.GetEnvironmentVariable("BENCH_ONLY");
        var settings = new BenchSettings { Root = root };
        return settings with
        {
            Duration = Number("BENCH_DURATION", settings.Duration),
            Warmup = Number("BENCH_WARMUP", settings.Warmup),
            Runs = Number("BENCH_RUNS", settings.Runs),
            Threads = Number("BENCH_THREADS", settings.Threads),
            Connections = Number("BENCH_CONNECTIONS", settings.Connections),
            FlowConcurrency = Number("BENCH_FLOW_CONCURRENCY", settings.FlowConcurrency),
            SqlServer = Environment.GetEnvironmentVariable("BENCH_SQLSERVER") is { Length: > 0 } sql ? sql : null,
            PostgreSql = Environment.GetEnvironmentVariable("BENCH_POSTGRES") is { Length: > 0 } postgres ? postgres : null,
            Only = string.IsNullOrWhiteSpace(only)
                ? null
                : only.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal),
        };
    }
}
