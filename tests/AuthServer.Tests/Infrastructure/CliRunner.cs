using System.Diagnostics;

namespace AuthServer.Tests.Infrastructure;

public sealed record CliResult(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs the real executable's verbs in a process of their own, as a script would.</summary>
public static class CliRunner
{
    public static Task<CliResult> RunAsync(string databasePath, params string[] args) => RunAsync(databasePath, new Dictionary<string, string>(), args);

    /// <summary>Runs the executable with <paramref name="environment"/> added to its environment variables.</summary>
    public static async Task<CliResult> RunAsync(string databasePath, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "AuthServer.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        if (databasePath.Length > 0)
        {
            foreach (var (name, value) in SuiteDatabase.Environment(databasePath))
            {
                start.Environment[name] = value;
            }
        }

        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }
}
