using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace AuthServer.Tests.Infrastructure;

/// <summary>
/// A real PostgreSQL server (Debian's <c>postgresql</c> package): a cluster made with <c>initdb</c> in a temporary
/// folder, <c>postgres</c> on a free loopback port, stopped and removed at the end. As root it runs as the
/// <c>postgres</c> user (the server refuses root). Where the binaries are missing the tests skip with the reason,
/// unless <c>AUTHSERVER_REQUIRE</c> names postgres (CI sets it): then the fixture fails.
/// </summary>
public sealed class PostgreSqlServer : IAsyncLifetime
{
    private Process? _process;
    private string _directory = "";

    public int Port { get; private set; }

    public string? SkipReason { get; private set; }

    /// <summary>A new, empty database on the server, for one test.</summary>
    public async Task<string> NewDatabaseAsync()
    {
        var name = $"test_{Guid.NewGuid():N}";
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username=authserver;Database={database};Pooling=true;Include Error Detail=true";

    public async ValueTask InitializeAsync()
    {
        if (Binary("initdb") is not { } initdb || Binary("postgres") is not { } postgres)
        {
            SkipReason = "No initdb/postgres (install the Debian package 'postgresql').";
            if (Requirements.Required("postgres"))
            {
                throw new InvalidOperationException($"AUTHSERVER_REQUIRE names postgres, but: {SkipReason}");
            }

            return;
        }

        Port = ServerProcess.FreePort();
        _directory = Path.Combine(Path.GetTempPath(), $"authserver-pg-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_directory);
        var asRoot = Environment.UserName == "root";
        if (asRoot)
        {
            await RunAsync("chown", "postgres", _directory);
        }

        var data = Path.Combine(_directory, "data");
        await RunAsync(AsServerUser(asRoot, initdb), [.. Prefix(asRoot, initdb), "-D", data, "-U", "authserver", "-A", "trust", "-E", "UTF8", "--no-locale"]);

        var start = new ProcessStartInfo(AsServerUser(asRoot, postgres)) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])[.. Prefix(asRoot, postgres), "-D", data, "-p", Port.ToString(CultureInfo.InvariantCulture), "-h", "127.0.0.1", "-k", _directory, "-c", "fsync=off", "-c", "max_connections=1000"])
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start)!;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
                await connection.OpenAsync();
                return;
            }
            catch (NpgsqlException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        NpgsqlConnection.ClearAllPools();
        if (_directory.Length > 0 && Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    /// <summary>As root, the program is run through <c>runuser -u postgres --</c>.</summary>
    private static string AsServerUser(bool asRoot, string binary) => asRoot ? "runuser" : binary;

    private static string[] Prefix(bool asRoot, string binary) => asRoot ? ["-u", "postgres", "--", binary] : [];

    private static string? Binary(string name)
    {
        var folders = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Concat(Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(version => Path.Combine(version, "bin")) : []);
        return folders.Select(folder => Path.Combine(folder, name)).FirstOrDefault(File.Exists);
    }

    private static async Task RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed: {await output}{await errors}");
        }
    }
}
