using System.Collections.Concurrent;
using Npgsql;

#if POSTGRES_SUITE
[assembly: AssemblyFixture(typeof(AuthServer.Tests.Infrastructure.SuiteDatabase))]
#endif

namespace AuthServer.Tests.Infrastructure;

/// <summary>
/// The database every host of the suite uses: a SQLite file of its own (the suite in <c>AuthServer.Tests</c>), or, in
/// the PostgreSQL suite (<c>AuthServer.PostgreSql.Tests</c>, the same tests compiled with <c>POSTGRES_SUITE</c>), a
/// database of its own on one PostgreSQL server started for the run. A test names its database by a SQLite path in
/// both suites; on PostgreSQL the same path always means the same database, so a restart finds what it left.
/// </summary>
public sealed class SuiteDatabase : IAsyncLifetime
{
#if POSTGRES_SUITE
    public const string Provider = "PostgreSql";
#else
    public const string Provider = "Sqlite";
#endif

    private const string Template = "authserver_template";

    private static SuiteDatabase? _current;

    private readonly PostgreSqlServer _server = new();
    private readonly ConcurrentDictionary<string, Lazy<string>> _databases = new(StringComparer.Ordinal);
    private readonly Lock _creating = new();

    public static bool IsSqlite => Provider == "Sqlite";

    /// <summary>What a test that only holds on SQLite says when it skips in the PostgreSQL suite.</summary>
    public const string SqliteOnly = "SQLite's own behaviour (its file, its locks, its write gate): tested in the SQLite suite.";

    private static string? _skipReason;

    /// <summary>The PostgreSQL suite runs on a machine without PostgreSQL: every test skips.</summary>
    public static bool Unavailable => _skipReason is not null;

    /// <summary>Skips the calling test when <see cref="Unavailable"/>: for fixtures that start hosts before any test runs.</summary>
    public static void SkipIfUnavailable() => Assert.SkipWhen(_skipReason is not null, _skipReason ?? "");

    /// <summary>
    /// The connection string of the database a test knows as <paramref name="databasePath"/>. In the PostgreSQL suite
    /// on a machine without PostgreSQL, the test asking is skipped with the reason.
    /// </summary>
    public static string ConnectionString(string databasePath)
    {
        if (IsSqlite)
        {
            return $"Data Source={databasePath}";
        }

        SkipIfUnavailable();
        return (_current ?? throw new InvalidOperationException("The PostgreSQL suite's server is not running.")).For(databasePath);
    }

    /// <summary>The settings of a host or process on that database, as environment variables.</summary>
    public static Dictionary<string, string> Environment(string databasePath) => new()
    {
        ["Database__Provider"] = Provider,
        ["Database__ConnectionString"] = ConnectionString(databasePath),
    };

    public async ValueTask InitializeAsync()
    {
        // Where PostgreSQL is missing the server says why, or fails when AUTHSERVER_REQUIRE names postgres (CI).
        await _server.InitializeAsync();
        if (_server.SkipReason is not null)
        {
            _skipReason = $"The PostgreSQL suite needs a PostgreSQL server: {_server.SkipReason}";
            return;
        }

        // One migrated database, copied for each test's database (CREATE DATABASE ... TEMPLATE copies files; migrating
        // each would take seconds). The executable's own 'migrate' verb makes it.
        await using (var connection = new NpgsqlConnection(_server.ConnectionString("postgres")))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {Template}", connection);
            await create.ExecuteNonQueryAsync();
        }

        var migrated = await CliRunner.RunAsync("", new Dictionary<string, string>
        {
            ["Database__Provider"] = "PostgreSql",
            ["Database__ConnectionString"] = _server.ConnectionString(Template),
        }, "migrate");
        if (migrated.ExitCode != 0)
        {
            throw new InvalidOperationException($"migrate failed on the template database: {migrated.Stdout}{migrated.Stderr}");
        }

        _current = this;
    }

    private string For(string databasePath) => _databases.GetOrAdd(databasePath, _ => new Lazy<string>(() =>
    {
        var name = $"t_{Guid.NewGuid():N}";
        lock (_creating)
        {
            // The template may have no other session while it is copied: one copy at a time.
            using var connection = new NpgsqlConnection(_server.ConnectionString("postgres"));
            connection.Open();
            using var create = new NpgsqlCommand($"CREATE DATABASE {name} TEMPLATE {Template}", connection);
            create.ExecuteNonQuery();
        }

        return _server.ConnectionString(name);
    })).Value;

    public async ValueTask DisposeAsync()
    {
        _current = null;
        await _server.DisposeAsync();
    }
}
