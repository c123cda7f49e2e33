using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace AuthServer.Bench;

/// <summary>A server process the harness starts, waits for and stops.</summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    // The first lines (start-up) and the last ones (what went wrong, when a run fails late).
    private readonly System.Text.StringBuilder _output = new();
    private readonly Queue<string> _tail = new();

    private ServerProcess(Process process) => _process = process;

    public int Port { get; private init; }

    public Uri Address => new($"http://127.0.0.1:{Port}");

    public int Id => _process.Id;

    /// <summary>CPU time (user and system) the process has used so far.</summary>
    public TimeSpan ProcessorTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>
    /// CPU time used so far by the runtime's tiered-compilation thread (Linux shows ".NET Tiered Compilation Worker" as
    /// ".NET Tiered Com"): the JIT recompiling hot methods at full optimisation, in the background, after a start. Zero
    /// for a process without one (node), and for one whose worker has exited (it does after a few idle seconds).
    /// </summary>
    public TimeSpan TieringTime
    {
        get
        {
            var nanoseconds = 0L;
            foreach (var (_, task) in Threads())
            {
                if (Read(task, "comm") is { } name && name.StartsWith(".NET Tiered Com", StringComparison.Ordinal))
                {
                    nanoseconds += RunNanoseconds(task) ?? 0;
                }
            }

            return TimeSpan.FromTicks(nanoseconds / 100);
        }
    }

    /// <summary>
    /// CPU time (ns) used so far by each of the process's threads, from the scheduler's own accounting
    /// (<c>/proc/&lt;pid&gt;/task/*/schedstat</c>, exact to the nanosecond where the process's own figure counts whole
    /// clock ticks of 10 ms): fine enough to measure one request. See <see cref="CpuSince"/>.
    /// </summary>
    public Dictionary<int, long> ThreadTimes()
    {
        var times = new Dictionary<int, long>();
        foreach (var (thread, task) in Threads())
        {
            if (RunNanoseconds(task) is { } nanoseconds)
            {
                times[thread] = nanoseconds;
            }
        }

        return times;
    }

    /// <summary>
    /// CPU time the process used since <paramref name="before"/> (a <see cref="ThreadTimes"/>): what its threads added,
    /// new threads counted whole. The share of a thread that ended in between is lost (thread-pool threads end after
    /// seconds of idleness, so this undercounts by a little, never more).
    /// </summary>
    public TimeSpan CpuSince(Dictionary<int, long> before, out Dictionary<int, long> now)
    {
        now = ThreadTimes();
        var nanoseconds = 0L;
        foreach (var (thread, time) in now)
        {
            // A thread id the kernel gave again to a new thread is a new thread.
            var earlier = before.GetValueOrDefault(thread);
            nanoseconds += time >= earlier ? time - earlier : time;
        }

        return TimeSpan.FromTicks(nanoseconds / 100);
    }

    /// <summary>The process's threads: id and <c>/proc</c> folder.</summary>
    private IEnumerable<(int Id, string Folder)> Threads()
    {
        var tasks = $"/proc/{_process.Id}/task";
        return Directory.Exists(tasks)
            ? Directory.EnumerateDirectories(tasks).Select(task => (int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture), task))
            : [];
    }

    /// <summary>A thread's time on a CPU so far (schedstat's first field, in ns); null once the thread has ended.</summary>
    private static long? RunNanoseconds(string task) =>
        Read(task, "schedstat") is { } schedstat ? long.Parse(schedstat.Split(' ')[0], CultureInfo.InvariantCulture) : null;

    private static string? Read(string task, string file)
    {
        try
        {
            return File.ReadAllText(Path.Combine(task, file));
        }
        catch (IOException)
        {
            // The thread ended between the listing and the read.
            return null;
        }
    }

    public static async Task<ServerProcess> StartAsync(
        string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, int port, string readyPath)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        // A published server runs from its own folder (its content root: static files, relative paths).
        if (arguments.FirstOrDefault(argument => argument.EndsWith(".dll", StringComparison.Ordinal)) is { } dll)
        {
            start.WorkingDirectory = Path.GetDirectoryName(dll);
        }

        var server = new ServerProcess(Process.Start(start)!) { Port = port };
        server._process.OutputDataReceived += (_, e) => server.Append(e.Data);
        server._process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();

        using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (server._process.HasExited)
            {
                throw new InvalidOperationException($"{file} exited with {server._process.ExitCode}:\n{server.Output}");
            }

            try
            {
                using var response = await http.GetAsync(readyPath);
                if (response.IsSuccessStatusCode)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"{file} did not answer {readyPath} within 60 s:\n{server.Output}");
            }

            await Task.Delay(200);
        }
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _tail.Count == 0 ? _output.ToString() : $"{_output}…\n{string.Join('\n', _tail)}";
            }
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            if (_output.Length < 100_000)
            {
                _output.AppendLine(line);
                return;
            }

            _tail.Enqueue(line);
            if (_tail.Count > 400)
            {
                _tail.Dequeue();
            }
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM first: a graceful stop (the server flushes what it counted); then make sure.
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
    }
}

/// <summary>Runs a command to completion and returns its stdout (throws with stderr on failure).</summary>
internal static class Command
{
    public static async Task<string> RunAsync(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', start.ArgumentList)} failed ({process.ExitCode}): {await stderr}");
        }

        return await stdout;
    }

    public static async Task<JsonElement> RunJsonAsync(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null) =>
        JsonDocument.Parse(await RunAsync(file, arguments, environment)).RootElement.Clone();
}
