namespace AuthServer.Hosting;

/// <summary>Where the one database lives. SQLite is the embedded default; SQL Server is the production choice;
/// PostgreSQL is the other server database.</summary>
public sealed class DatabaseOptions
{
    public const string SectionName = "Database";

    public const string Sqlite = "Sqlite";
    public const string SqlServer = "SqlServer";
    public const string PostgreSql = "PostgreSql";

    /// <summary><c>Sqlite</c> (default), <c>SqlServer</c> or <c>PostgreSql</c>.</summary>
    public string Provider { get; set; } = Sqlite;

    /// <summary>
    /// The ADO.NET connection string. For SQLite a relative <c>Data Source</c> is resolved against the content root,
    /// and its folder is created; when empty, <c>data/authserver.db</c> is used.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>Apply pending migrations when the process starts. Defaults to on for SQLite and off for SQL Server,
    /// where the <c>migrate</c> verb (or the idempotent script) is run by whoever owns the schema.</summary>
    public bool? MigrateOnStartup { get; set; }

    internal bool IsSqlite => string.Equals(Provider, Sqlite, StringComparison.OrdinalIgnoreCase);

    internal bool IsSqlServer => string.Equals(Provider, SqlServer, StringComparison.OrdinalIgnoreCase);

    internal bool IsPostgreSql => string.Equals(Provider, PostgreSql, StringComparison.OrdinalIgnoreCase);

    internal bool ShouldMigrateOnStartup => MigrateOnStartup ?? IsSqlite;
}
