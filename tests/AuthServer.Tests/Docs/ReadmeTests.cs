using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.WebUtilities;

namespace AuthServer.Tests.Docs;

/// <summary>
/// Runs the README's shell blocks in order, as a reader would paste them, against the real executable on a port of
/// its own: each block must succeed, print no error, and leave no variable it sets empty or <c>null</c>. Where the
/// README asks the reader to use a browser (copy a key from the dashboard, the code from the address bar), this
/// runner does that step over HTTP and gives the variable the README names. A block preceded by
/// <c>&lt;!-- readme-runner: skip (why) --&gt;</c> is not run.
/// </summary>
public sealed partial class ReadmeTests
{
    private const string Email = "you@example.com";
    private const string Password = "a long passphrase";

    [Fact]
    public async Task TheReadmesBlocks_RunInOrder_AgainstAFreshServer()
    {
        var missing = new[] { "jq", "curl", "openssl", "bash" }.Where(tool => !OnPath(tool)).ToList();
        if (missing.Count > 0)
        {
            Assert.False(Requirements.Required("jq"), $"AUTHSERVER_REQUIRE names jq, but these are missing: {string.Join(", ", missing)}.");
            Assert.Skip($"The README's blocks need {string.Join(", ", missing)} (bash .ci/run installs them).");
        }

        var root = RepositoryRoot();
        var blocks = Blocks(await File.ReadAllTextAsync(Path.Combine(root, "README.md")));
        Assert.True(blocks.Count >= 4, "The README has fewer shell blocks than expected: did the markers change?");

        var path = TestDatabase.NewSqlitePath();
        var port = ServerProcess.FreePort();
        var mail = new PickupDirectory(Path.Combine(Path.GetTempPath(), $"readme-mail-{Guid.NewGuid():N}"));
        await using var server = await ServerProcess.StartAsync(path, new Dictionary<string, string> { ["Email__PickupDirectory"] = mail.Path }, port: port);
        var environment = SuiteDatabase.Environment(path);
        environment["ASPNETCORE_ENVIRONMENT"] = "Development";

        var state = Path.Combine(Path.GetTempPath(), $"readme-{Guid.NewGuid():N}.sh");
        await File.WriteAllTextAsync(state, "");
        var provided = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            foreach (var (heading, code) in blocks)
            {
                // What the reader would get from a browser, when the block asks for it.
                if (Placeholder().Matches(code).Select(match => match.Groups[1].Value).ToList() is { Count: > 0 } wanted)
                {
                    foreach (var name in wanted.Where(name => !provided.ContainsKey(name)))
                    {
                        provided[name] = name switch
                        {
                            "KEY" => await CreateKeyOnTheDashboardAsync(server.Address, mail),
                            "CODE" => await ConsentAsync(server.Address, provided["AUTHORIZE_URL"]),
                            _ => throw new InvalidOperationException($"The README asks for {name}, which this runner cannot provide."),
                        };
                    }
                }

                var script = Placeholder().Replace(code, match => $"{match.Groups[1].Value}='{provided[match.Groups[1].Value]}'")
                    .Replace("dotnet run --project src/AuthServer --", $"dotnet \"{Path.Combine(AppContext.BaseDirectory, "AuthServer.dll")}\"", StringComparison.Ordinal)
                    .Replace("http://localhost:5000", server.Address.AbsoluteUri.TrimEnd('/'), StringComparison.Ordinal);
                var names = Assigned().Matches(code).Select(match => match.Groups[1].Value).Distinct().ToList();
                var (exit, output) = await RunAsync(script, state, names, environment, root);
                Assert.True(exit == 0, $"A block under '{heading}' failed ({exit}):\n{code}\n--- output ---\n{output}\n--- server ---\n{server.Output}");
                Assert.DoesNotContain("\"error\"", output, StringComparison.Ordinal);

                var empty = output.Split('\n').Where(line => line.StartsWith("README_EMPTY:", StringComparison.Ordinal)).ToList();
                Assert.True(empty.Count == 0, $"A block under '{heading}' left variables empty or null: {string.Join(", ", empty)}\n{output}");

                // The authorization URL the reader opens is the block's last line of output.
                if (output.Contains("/oauth/authorize?", StringComparison.Ordinal))
                {
                    provided["AUTHORIZE_URL"] = output.Trim().Split('\n')[^1];
                }
            }
        }
        finally
        {
            File.Delete(state);
        }
    }

    /// <summary>The README's <c>bash</c> blocks in order, with the heading each is under, skipping the marked ones.</summary>
    private static List<(string Heading, string Code)> Blocks(string readme)
    {
        var blocks = new List<(string, string)>();
        var heading = "";
        var skipNext = false;
        var lines = readme.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                heading = line[3..];
            }
            else if (line.StartsWith("<!-- readme-runner: skip", StringComparison.Ordinal))
            {
                skipNext = true;
            }
            else if (line.TrimStart().StartsWith("```bash", StringComparison.Ordinal))
            {
                var indent = line.Length - line.TrimStart().Length;
                var code = new StringBuilder();
                for (i++; i < lines.Length && !lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal); i++)
                {
                    code.AppendLine(lines[i].Length >= indent ? lines[i][indent..] : lines[i].TrimStart());
                }

                if (!skipNext)
                {
                    blocks.Add((heading, code.ToString()));
                }

                skipNext = false;
            }
        }

        return blocks;
    }

    /// <summary>Runs one block in bash with the variables of the blocks before it, and keeps those it sets.</summary>
    private static async Task<(int Exit, string Output)> RunAsync(
        string code, string state, List<string> names, Dictionary<string, string> environment, string root)
    {
        var script = $"set -euo pipefail\nsource '{state}'\n{code}\n"
            + (names.Count == 0 ? "" : $"declare -p {string.Join(' ', names)} >> '{state}'\n"
                + $"for v in {string.Join(' ', names)}; do if [ -z \"${{!v:-}}\" ] || [ \"${{!v}}\" = null ]; then echo \"README_EMPTY:$v\"; fi; done\n");
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, WorkingDirectory = root };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(script);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await errors);
    }

    /// <summary>The quick start's browser steps: sign up, sign in, confirm from the .eml file, create a key; the key as the page shows it once.</summary>
    private static async Task<string> CreateKeyOnTheDashboardAsync(Uri server, IMailbox mail)
    {
        using var browser = Browser(server);
        browser.Mailbox = mail;
        var email = $"reader-{Guid.NewGuid():N}@example.com";
        await browser.RegisterAsync(email, Password, "Reader");
        Assert.Equal(HttpStatusCode.Redirect, (await browser.SignInAsync(email, Password)).StatusCode);
        await OAuthFlow.ConfirmEmailAsync(browser, email);
        return await Dashboard.CreateKeyAsync(browser, "readme");
    }

    /// <summary>The flow's browser steps: open the URL, sign in as the README's user, allow; the code from the address bar.</summary>
    private static async Task<string> ConsentAsync(Uri server, string authorizeUrl)
    {
        using var browser = Browser(server);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.SignInAsync(Email, Password)).StatusCode);
        var location = await OAuthFlow.AuthorizeAsync(browser, new Uri(authorizeUrl).PathAndQuery);
        return QueryHelpers.ParseQuery(location.Query)["code"].ToString();
    }

    private static TestBrowser Browser(Uri server) =>
        new(new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true }) { BaseAddress = server });

    private static string RepositoryRoot()
    {
        var directory = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(directory, "AuthServer.sln")))
        {
            directory = Path.GetDirectoryName(directory) ?? throw new InvalidOperationException("The tests run outside the repository.");
        }

        return directory;
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(folder => File.Exists(Path.Combine(folder, tool)));

    /// <summary>A line where the README asks the reader for a value: <c>KEY=aip_...   # the key you copied</c>.</summary>
    [GeneratedRegex(@"^([A-Z_][A-Z0-9_]*)=(?:aip_)?\.\.\.[^\n]*$", RegexOptions.Multiline)]
    private static partial Regex Placeholder();

    /// <summary>A variable a block sets: at the start of a line or after <c>;</c>.</summary>
    [GeneratedRegex(@"(?:^|;\s*)([A-Z_][A-Z0-9_]*)=", RegexOptions.Multiline)]
    private static partial Regex Assigned();
}
