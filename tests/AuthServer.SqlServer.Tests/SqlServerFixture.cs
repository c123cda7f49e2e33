using Testcontainers.MsSql;

namespace AuthServer.SqlServer.Tests;

/// <summary>
/// A SQL Server for the tests: the one named by <c>AUTHSERVER_TEST_SQLSERVER</c> (a connection string) when set,
/// otherwise a throwaway container through Testcontainers. Where neither is possible the tests skip and say why.
/// </summary>
public sealed class SqlServerFixture : IAsyncLifetime
{
    public const string ConnectionStringVariable = "AUTHSERVER_TEST_SQLSERVER";

    private MsSqlContainer? _container;

    public string? ConnectionString { get; private set; }

    public string? SkipReason { get; private set; }

    public async ValueTask InitializeAsync()
    {
        var configured = Environment.GetEnvironmentVariable(ConnectionStringVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            ConnectionString = configured;
            return;
        }

        if (Environment.GetEnvironmentVariable("DOCKER_HOST") is null && !File.Exists("/var/run/docker.sock"))
        {
            SkipReason = $"No Docker engine here (no DOCKER_HOST, no /var/run/docker.sock) and {ConnectionStringVariable} is not set.";
            return;
        }

        try
        {
            _container = new MsSqlBuilder("mcr.microsoft.com/mssql/server:2022-CU14-ubuntu-22.04").Build();
            await _container.StartAsync();
            ConnectionString = _container.GetConnectionString();
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            SkipReason = $"SQL Server could not be started through Testcontainers: {exception.GetType().Name}: {exception.Message}";
        }
    }

    /// <summary>A database of its own for one test class, on the shared server.</summary>
    public string DatabaseConnectionString(string database)
    {
        var builder = new Microsoft.Data.SqlClient.SqlConnectionStringBuilder(ConnectionString) { InitialCatalog = database };
        return builder.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
    }
}
