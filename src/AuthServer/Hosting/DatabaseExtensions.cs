using AuthServer.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;

namespace AuthServer.Hosting;

/// <summary>The provider switch: the host picks SQLite or SQL Server and names the matching migrations assembly.</summary>
internal static class DatabaseExtensions
{
    public const string SqliteMigrationsAssembly = "AuthServer.Migrations.Sqlite";
    public const string SqlServerMigrationsAssembly = "AuthServer.Migrations.SqlServer";
    public const string PostgreSqlMigrationsAssembly = "AuthServer.Migrations.PostgreSql";
    private const string DefaultSqliteConnectionString = "Data Source=data/authserver.db";

    public static IHostApplicationBuilder AddDatabase(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<DatabaseOptions>()
            .BindConfiguration(DatabaseOptions.SectionName)
            .Validate(
                options => options.IsSqlite || options.IsSqlServer || options.IsPostgreSql,
                $"{DatabaseOptions.SectionName}:Provider must be '{DatabaseOptions.Sqlite}', '{DatabaseOptions.SqlServer}' or '{DatabaseOptions.PostgreSql}'.")
            .Validate(
                options => options.IsSqlite || !string.IsNullOrWhiteSpace(options.ConnectionString),
                $"{DatabaseOptions.SectionName}:ConnectionString is required when {DatabaseOptions.SectionName}:Provider is '{DatabaseOptions.SqlServer}' or '{DatabaseOptions.PostgreSql}'.")
            .ValidateOnStart();

        services.AddSingleton<SqliteWriteGate>();
        services.AddSingleton<ResolvedConnectionString>();
        // Pooled: a request rents a context instead of building one (and its options) from scratch, which EF Core
        // otherwise does on every request, reflection included.
        services.AddDbContextPool<AuthDbContext>((provider, options) =>
        {
            var database = provider.GetRequiredService<IOptions<DatabaseOptions>>().Value;
            if (database.IsSqlite)
            {
                options.UseSqlite(
                    provider.GetRequiredService<ResolvedConnectionString>().Value,
                    sqlite => sqlite.MigrationsAssembly(SqliteMigrationsAssembly));
                options.AddInterceptors(provider.GetRequiredService<SqliteWriteGate>());
            }
            else if (database.IsPostgreSql)
            {
                options.UseNpgsql(
                    database.ConnectionString,
                    npgsql => npgsql.MigrationsAssembly(PostgreSqlMigrationsAssembly).EnableRetryOnFailure());
            }
            else
            {
                options.UseSqlServer(
                    database.ConnectionString,
                    sqlServer => sqlServer.MigrationsAssembly(SqlServerMigrationsAssembly).EnableRetryOnFailure());
            }

            // Interceptors other modules register (the OAuth change signal that keeps introspection answers fresh).
            options.AddInterceptors(provider.GetServices<IInterceptor>());
        });

        return builder;
    }

    /// <summary>Applies migrations where configured and puts a SQLite database in WAL mode.</summary>
    public static async Task PrepareDatabaseAsync(this WebApplication app, bool commandLine)
    {
        var database = app.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        await using var scope = app.Services.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();

        if (database.IsSqlite)
        {
            // WAL lets readers proceed while one writer commits; the mode is stored in the file, so setting it
            // once per start is enough.
            await context.Database.OpenConnectionAsync();
            await context.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;");
            await context.Database.CloseConnectionAsync();
        }

        if (database.ShouldMigrateOnStartup)
        {
            await context.Database.MigrateAsync();
        }
        else if (!commandLine)
        {
            var pending = (await context.Database.GetPendingMigrationsAsync()).ToList();
            if (pending.Count > 0)
            {
                app.Logger.LogWarning(
                    "The database has {Count} pending migration(s) ({Names}); run the 'migrate' verb.",
                    pending.Count,
                    string.Join(", ", pending));
            }
        }
    }

    internal static string ResolveSqliteConnectionString(string? connectionString, string contentRoot)
    {
        var builder = new SqliteConnectionStringBuilder(
            string.IsNullOrWhiteSpace(connectionString) ? DefaultSqliteConnectionString : connectionString);

        if (builder.DataSource is { Length: > 0 } dataSource
            && dataSource != ":memory:"
            && builder.Mode != SqliteOpenMode.Memory)
        {
            var path = Path.GetFullPath(dataSource, contentRoot);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            builder.DataSource = path;
        }

        return builder.ToString();
    }

    /// <summary>The SQLite connection string with its file resolved (and its folder created) once, not per context.</summary>
    internal sealed class ResolvedConnectionString(IOptions<DatabaseOptions> database, IHostEnvironment environment)
    {
        public string Value { get; } = ResolveSqliteConnectionString(database.Value.ConnectionString, environment.ContentRootPath);
    }
}
