using System.Data.Common;
using AuthServer.Clients;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AuthServer.Tests.Infrastructure;

/// <summary>
/// The real host on a real SQLite file of its own. Configuration is set the way an operator would set it, never by
/// replacing registrations, so the tests run the same code path (signing keys included) as a deployment.
/// </summary>
public class AuthServerFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings = new(StringComparer.OrdinalIgnoreCase);

    public AuthServerFactory()
        : this(TestDatabase.NewSqlitePath(), null)
    {
    }

    protected AuthServerFactory(string databasePath, IReadOnlyDictionary<string, string?>? settings)
    {
        DatabasePath = databasePath;
        _settings["Database:Provider"] = SuiteDatabase.Provider;
        _settings["Email:PickupDirectory"] = Path.Combine(Path.GetTempPath(), "authserver-mail-" + Guid.NewGuid().ToString("N"));
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    public string DatabasePath { get; }

    /// <summary>
    /// Where the tests read the server's mail: the folder it writes to without an SMTP host (one of its own unless the
    /// settings name one), or the SMTP server given here.
    /// </summary>
    public IMailbox Mailbox
    {
        get => _mailbox ??= new PickupDirectory(_settings["Email:PickupDirectory"]!);
        init => _mailbox = value;
    }

    private IMailbox? _mailbox;

    public string EnvironmentName { get; init; } = "Development";

    /// <summary>Also receives every log line the server writes, at the levels its configuration lets through.</summary>
    public ILoggerProvider? LogSink { get; init; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // Asked when the host is built (in a test, not when a fixture is made), so that a test of the PostgreSQL
        // suite on a machine without PostgreSQL is skipped, not failed.
        if (!_settings.ContainsKey("Database:ConnectionString"))
        {
            _settings["Database:ConnectionString"] = SuiteDatabase.ConnectionString(DatabasePath);
        }

        builder.UseEnvironment(EnvironmentName);
        if (LogSink is not null)
        {
            builder.ConfigureLogging(logging => logging.AddProvider(LogSink));
        }

        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }

    /// <summary>A browser-like client: cookies kept, redirects not followed, HTTPS as in production.</summary>
    public TestBrowser CreateBrowser() => new(CreateClient(new WebApplicationFactoryClientOptions
    {
        AllowAutoRedirect = false,
        HandleCookies = true,
        BaseAddress = new Uri("https://localhost"),
    }))
    {
        Mailbox = Mailbox,
    };

    /// <summary>A client with no cookies, for calls an app or a resource server makes.</summary>
    public HttpClient CreateApiClient() => CreateClient(new WebApplicationFactoryClientOptions
    {
        AllowAutoRedirect = false,
        HandleCookies = false,
        BaseAddress = new Uri("https://localhost"),
    });

    public Task<RegisteredClient> RegisterClientAsync(
        string redirectUri = "https://app.example/callback", bool isPublic = false, params string[] scopes) =>
        RegisterAsync(new ClientRegistration(
            "Test App",
            [new Uri(redirectUri)],
            isPublic,
            scopes.Length > 0 ? scopes : ClientRegistrar.DefaultScopes));

    /// <summary>A backend service: confidential, client_credentials only.</summary>
    public Task<RegisteredClient> RegisterServiceAsync(params string[] scopes) =>
        RegisterAsync(new ClientRegistration("Service", [], IsPublic: false, scopes, GrantTypes: ["client_credentials"]));

    /// <summary>
    /// The platform API as a resource server: a confidential client whose client_id is the tokens' audience
    /// (<c>OAuth:Audience</c>), so it may introspect the platform's tokens and API keys. Registered once per host.
    /// </summary>
    public async Task<RegisteredClient> ResourceServerAsync()
    {
        await _resourceServerLock.WaitAsync();
        try
        {
            return _resourceServer ??= await RegisterAsync(new ClientRegistration(
                "Platform API", [], IsPublic: false, ["read"], GrantTypes: ["client_credentials"], ClientId: "platform-api"));
        }
        finally
        {
            _resourceServerLock.Release();
        }
    }

    private readonly SemaphoreSlim _resourceServerLock = new(1, 1);
    private RegisteredClient? _resourceServer;

    /// <summary>An HTTP client carrying the token of a freshly registered admin client (scope <c>admin</c>).</summary>
    public async Task<HttpClient> CreateAdminClientAsync()
    {
        var admin = await RegisterAsync(new ClientRegistration("Ops", [], IsPublic: false, ["admin"], GrantTypes: ["client_credentials"]));
        var api = CreateApiClient();
        var token = await OAuthFlow.TokenAsync(api, admin, new Dictionary<string, string> { ["grant_type"] = "client_credentials" });
        api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token.AccessToken);
        return api;
    }

    public async Task<RegisteredClient> RegisterAsync(ClientRegistration registration)
    {
        await using var scope = Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<ClientRegistrar>().RegisterAsync(registration, CancellationToken.None);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        _resourceServerLock.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }
}

/// <summary>A host on a given database file with extra settings: for restarts and for short lifetimes.</summary>
public sealed class ConfiguredAuthServerFactory(string databasePath, IReadOnlyDictionary<string, string?>? settings = null)
    : AuthServerFactory(databasePath, settings)
{
    /// <summary>A server on a database of its own, with these settings on top of the test defaults.</summary>
    public ConfiguredAuthServerFactory(IReadOnlyDictionary<string, string?> settings)
        : this(TestDatabase.NewSqlitePath(), settings)
    {
    }
}

internal static class TestDatabase
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "authserver-tests", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static string NewSqlitePath()
    {
        Directory.CreateDirectory(Root);
        return Path.Combine(Root, $"{Guid.NewGuid():N}.db");
    }

    /// <summary>
    /// Makes the database itself refuse every new row of <paramref name="table"/> until the result is disposed: a real
    /// write failure, as a full disk gives (EF Core reports it as a <c>DbUpdateException</c>), not a mocked one.
    /// </summary>
    public static async Task<IAsyncDisposable> RefuseInsertsAsync(string databasePath, string table)
    {
        await using var connection = await OpenAsync(databasePath);
        return await RefuseInsertsAsync(connection, databasePath, table);
    }

    /// <summary>
    /// Takes the write lock of the tokens table from another connection and holds it until released: the server's
    /// token writes queue behind it, as behind a long write of another node. On SQLite that is the database's one
    /// write lock (<c>BEGIN IMMEDIATE</c>); on PostgreSQL a lock on <c>OpenIddictTokens</c> that lets reads through.
    /// </summary>
    public static async Task<WriteLock> HoldWriteLockAsync(string databasePath)
    {
        var connection = await OpenAsync(databasePath);
        await ExecuteAsync(connection, SuiteDatabase.IsSqlite ? "BEGIN IMMEDIATE;" : """BEGIN; LOCK TABLE "OpenIddictTokens" IN EXCLUSIVE MODE;""");
        return new WriteLock(connection, databasePath);
    }

    /// <summary>
    /// The database is gone until the result is disposed: the SQLite file moved away (opening it again finds no
    /// tables, as on a lost volume), or the PostgreSQL database refusing connections, its open ones ended.
    /// </summary>
    public static async Task<IAsyncDisposable> TakeAwayAsync(string databasePath)
    {
        if (SuiteDatabase.IsSqlite)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            File.Move(databasePath, databasePath + ".away");
            return new Restore(() =>
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                File.Delete(databasePath);
                File.Move(databasePath + ".away", databasePath);
                return Task.CompletedTask;
            });
        }

        var builder = new Npgsql.NpgsqlConnectionStringBuilder(SuiteDatabase.ConnectionString(databasePath));
        var name = builder.Database!;
        builder.Database = "postgres";
        async Task AdminAsync(string sql)
        {
            await using var connection = new Npgsql.NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync();
            await ExecuteAsync(connection, sql);
        }

        await AdminAsync($"ALTER DATABASE {name} ALLOW_CONNECTIONS false; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';");
        Npgsql.NpgsqlConnection.ClearAllPools();
        return new Restore(() => AdminAsync($"ALTER DATABASE {name} ALLOW_CONNECTIONS true;"));
    }

    private sealed class Restore(Func<Task> restore) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await restore();
    }

    /// <summary>One value read with <paramref name="sql"/> (identifiers in double quotes, as both SQLite and PostgreSQL take them).</summary>
    public static async Task<object?> ScalarAsync(string databasePath, string sql)
    {
        await using var connection = await OpenAsync(databasePath);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    private static async Task<IAsyncDisposable> RefuseInsertsAsync(DbConnection connection, string databasePath, string table)
    {
        var trigger = $"refuse_{table}";
        await ExecuteAsync(connection, SuiteDatabase.IsSqlite
            ? $"CREATE TRIGGER {trigger} BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'disk full'); END;"
            : $"""
                CREATE OR REPLACE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$;
                CREATE TRIGGER {trigger} BEFORE INSERT ON "{table}" FOR EACH ROW EXECUTE FUNCTION refuse_insert();
                """);
        return new DropTrigger(databasePath, trigger, table);
    }

    private static async Task<DbConnection> OpenAsync(string databasePath)
    {
        DbConnection connection = SuiteDatabase.IsSqlite
            ? new Microsoft.Data.Sqlite.SqliteConnection(SuiteDatabase.ConnectionString(databasePath))
            : new Npgsql.NpgsqlConnection(SuiteDatabase.ConnectionString(databasePath));
        await connection.OpenAsync();
        return connection;
    }

    private static async Task ExecuteAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The write lock held by another connection; disposing it without <see cref="ReleaseAsync"/> rolls back.</summary>
    public sealed class WriteLock(DbConnection connection, string databasePath) : IAsyncDisposable
    {
        private bool _released;

        /// <summary>Inside the held transaction: once it is released, the database refuses every new row of
        /// <paramref name="table"/> until the result is disposed (see <see cref="TestDatabase.RefuseInsertsAsync(string, string)"/>).</summary>
        public Task<IAsyncDisposable> RefuseInsertsAsync(string table) => TestDatabase.RefuseInsertsAsync(connection, databasePath, table);

        /// <summary>Commits what was done under the lock and lets the queued writes go.</summary>
        public async Task ReleaseAsync()
        {
            await ExecuteAsync(connection, "COMMIT;");
            _released = true;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_released)
            {
                await ExecuteAsync(connection, "ROLLBACK;");
            }

            await connection.DisposeAsync();
        }
    }

    private sealed class DropTrigger(string databasePath, string trigger, string table) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await using var connection = await OpenAsync(databasePath);
            await ExecuteAsync(connection, SuiteDatabase.IsSqlite ? $"DROP TRIGGER {trigger};" : $"""DROP TRIGGER {trigger} ON "{table}";""");
        }
    }
}
