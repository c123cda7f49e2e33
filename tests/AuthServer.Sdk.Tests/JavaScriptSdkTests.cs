using System.Diagnostics;
using AuthServer.Tests.Infrastructure;

namespace AuthServer.Sdk.Tests;

/// <summary>
/// The JavaScript SDK's own tests (<c>sdk/js/test</c>, Node's test runner), one case per file, so that the README's
/// one test command runs them. Each file starts the server it tests, this build's <c>AuthServer.dll</c>, as a process.
/// </summary>
public sealed class JavaScriptSdkTests
{
    public static TheoryData<string> TestFiles() =>
        new(Directory.GetFiles(Path.Combine(Repository.Root, "sdk", "js", "test"), "*.test.js").Select(Path.GetFileName).Order()!);

    [Theory]
    [MemberData(nameof(TestFiles))]
    public async Task NodeTestFile_Passes(string file)
    {
        var node = Repository.FindOnPath("node");
        if (node is null)
        {
            const string reason = "No Node.js on PATH (install Node.js 20 or later: the Debian package 'nodejs').";
            Assert.False(Requirements.Required("node"), $"AUTHSERVER_REQUIRE names node, but: {reason}");
            Assert.Skip(reason);
        }

        var start = new ProcessStartInfo(node)
        {
            WorkingDirectory = Path.Combine(Repository.Root, "sdk", "js"),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--test", "--test-reporter=spec", Path.Combine("test", file) })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["AUTHSERVER_DLL"] = Path.Combine(AppContext.BaseDirectory, "AuthServer.dll");
        start.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var output = $"{await stdout}\n{await stderr}";
        TestContext.Current.TestOutputHelper?.WriteLine(output);
        Assert.True(process.ExitCode == 0, $"node --test {file} exited with {process.ExitCode}:\n{output}");
    }
}

internal static class Repository
{
    /// <summary>The folder holding AuthServer.sln, above the test's output folder.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "AuthServer.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No AuthServer.sln above {AppContext.BaseDirectory}.");
    }

    public static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, program))
            .FirstOrDefault(File.Exists);
}
