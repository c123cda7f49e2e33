using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;

namespace AuthServer.Bench;

/// <summary>
/// One row of the results: a scenario on one server, the median of the runs. <paramref name="Ratios"/>: for a scenario
/// measured against a reference, the rate of each run over the rate of the reference's run just after it.
/// </summary>
internal sealed record Measurement(
    string Scenario, string Server, RunResult Median, IReadOnlyList<RunResult> Runs, TimeSpan Warmup, string Unit = "req/s",
    IReadOnlyList<double>? Ratios = null);

/// <summary>A scenario on one server: where it runs and how to prepare the load of a run expected to make so many requests.</summary>
internal sealed record Side(string Scenario, string Server, ServerProcess Host, Func<long, Task<WrkLoad>> Prepare);

/// <summary>The peer, started with a client for tokens, a resource server for introspection and a token to introspect.</summary>
internal sealed record Peer(ServerProcess Host, Client Service, Client ResourceServer, string Token);

/// <summary>
/// Starts AuthServer (Release, Production settings behind a TLS-terminating proxy, on loopback), the bare endpoint and
/// oidc-provider; seeds what each scenario needs; drives every scenario (warm-up, then the runs); writes the table.
/// A scenario with a reference (the peer, the bare endpoint, the password hash) interleaves its runs with the
/// reference's: on a shared VM the speed of the machine can change by a factor of two within minutes, so only runs
/// taken side by side are compared.
/// </summary>
internal sealed class Harness(BenchSettings settings) : IDisposable
{
    private const string BenchPassword = "bench password 1234";
    private const string PasswordHash = "password hash (floor for sign-in)";
    private const int WarmupProbeSeconds = 3;
    internal const int SettleWindowSeconds = 5;
    internal const int MaxWarmupSeconds = 300;
    internal const double SettledShare = 0.05;
    private static readonly string[] Proxy = ["X-Forwarded-Proto: https"];

    private readonly List<Measurement> _results = [];
    private IReadOnlyList<StepCost> _steps = [];
    private double _hashCpuMs;
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, MaxConnectionsPerServer = 256 });

    public async Task<int> RunAsync()
    {
        Directory.CreateDirectory(settings.OutDirectory);
        var stamp = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var port = ServerProcess.FreePort();
        var environment = ServerEnvironment(stamp, port);
        if (settings.DatabaseProvider != "Sqlite")
        {
            await Command.RunAsync("dotnet", [settings.ServerDll, "migrate"], environment);
        }

        Log($"AuthServer: Release build, Production settings, {settings.DatabaseName}, http://127.0.0.1:{port}");
        await using (var ours = await ServerProcess.StartAsync("dotnet", [settings.ServerDll, "--urls", $"http://127.0.0.1:{port}"], environment, port, "/healthz"))
        {
            _http.BaseAddress = ours.Address;
            try
            {
                await MeasureAsync(ours, environment);
            }
            catch (Exception failure) when (failure is InvalidOperationException or HttpRequestException)
            {
                throw new InvalidOperationException($"{failure.Message}\nAuthServer's output:\n{ours.Output}", failure);
            }
        }

        if (settings.Includes("password-hash") && !settings.Includes("full sign-in flow"))
        {
            Log("calibration: password hash");
            var hash = Calibration.PasswordHashRate(TimeSpan.FromSeconds(settings.Duration));
            _results.Add(new Measurement(PasswordHash, "calibration", hash, [hash], TimeSpan.Zero, "hashes/s"));
        }

        var report = Report.Write(settings, _results, _steps, _hashCpuMs);
        Console.WriteLine();
        Console.WriteLine(report);
        return 0;
    }

    private Dictionary<string, string> ServerEnvironment(string stamp, int port) => new()
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["Database__Provider"] = settings.DatabaseProvider,
        ["Database__ConnectionString"] = settings.SqlServer ?? settings.PostgreSql ?? $"Data Source={Path.Combine(settings.OutDirectory, $"bench-{stamp}.db")}",
        ["OAuth__Issuer"] = $"https://127.0.0.1:{port}/",
        // Outside Development the key ring must be encrypted at rest (README, production notes).
        ["DataProtection__CertificatePath"] = KeyRingCertificate(),
        ["Transport__UseForwardedHeaders"] = "true",
        ["Transport__KnownProxies__0"] = "127.0.0.1",
        // All load comes from one address: the per-address failure limits would otherwise stop a run that goes wrong
        // half-way with 429s instead of showing its errors.
        ["RateLimits__TokenFailuresPerMinute"] = "1000000",
        ["RateLimits__KeyFailuresPerMinute"] = "1000000",
        ["RateLimits__SignInFailuresPerMinute"] = "1000000",
    };

    /// <summary>A self-signed certificate for the server's key ring, made once in the output folder.</summary>
    private string KeyRingCertificate()
    {
        var path = Path.Combine(settings.OutDirectory, "keyring.pfx");
        if (!File.Exists(path))
        {
            using var rsa = System.Security.Cryptography.RSA.Create(2048);
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest(
                "CN=bench key ring", rsa, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
            Directory.CreateDirectory(settings.OutDirectory);
            File.WriteAllBytes(path, certificate.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pfx));
        }

        return path;
    }

    private async Task MeasureAsync(ServerProcess ours, Dictionary<string, string> environment)
    {
        // Seeding: clients through the CLI (as an operator would), people and keys through the pages.
        var cli = settings.ServerDll;
        var service = await ClientAsync(cli, environment, "bench-service", ["--grant", "client_credentials", "--scope", "read"]);
        // The resource server introspects as the tokens' audience (README: "Validating tokens"), as the peer's does.
        var resourceServer = await ClientAsync(cli, environment, "bench-resource-server", ["--grant", "client_credentials", "--scope", "read", "--client-id", "platform-api"]);
        var app = await ClientAsync(cli, environment, "bench-web", ["--redirect-uri", Flows.RedirectUri, "--scope", "openid", "--scope", "profile", "--scope", "read", "--scope", "offline_access"]);
        foreach (var client in new[] { service, app })
        {
            await Command.RunAsync("dotnet", [cli, "clients", "set-tier", "--client-id", client.Id, "--tier", "enterprise", "--requests-per-minute", "100000000"], environment);
        }

        var email = $"bench-{Guid.NewGuid():N}@example.com";
        await Command.RunAsync("dotnet", [cli, "users", "create", "--email", email, "--password", BenchPassword], environment);
        await Command.RunAsync("dotnet", [cli, "users", "set-tier", "--email", email, "--tier", "enterprise", "--requests-per-minute", "100000000"], environment);
        var session = new WebSession(_http);
        await Flows.SignInAsync(session, email, BenchPassword);
        var apiKey = await Flows.CreateKeyAsync(session);
        var pkce = Pkce.Create();
        var userTokens = await Flows.RedeemAsync(_http, app, await Flows.CodeAsync(session, Flows.AuthorizeUrl(app.Id, "openid profile read", pkce)), pkce);
        var userToken = userTokens.GetProperty("access_token").GetString()!;
        var serviceToken = (await Flows.TokenAsync(_http, service, [new("grant_type", "client_credentials"), new("scope", "read")]))
            .GetProperty("access_token").GetString()!;
        var url = ours.Address;
        using (var models = new HttpRequestMessage(HttpMethod.Get, "/v1/models"))
        {
            models.Headers.Add("X-Forwarded-Proto", "https");
            models.Headers.Authorization = new("Bearer", apiKey);
            using var response = await _http.SendAsync(models);
            await File.WriteAllBytesAsync(Path.Combine(settings.OutDirectory, "models.json"), await response.Content.ReadAsByteArrayAsync());
        }

        // The references run beside our server for the whole run (idle while it is measured).
        await using var bare = await StartBareAsync();
        var peer = await StartPeerAsync();
        await using var peerHost = peer?.Host;

        await ScenarioAsync(new("discovery", "AuthServer", ours, _ => Task.FromResult(
            new WrkLoad(new Uri(url, "/.well-known/openid-configuration"), "get.lua", Proxy))));
        await ScenarioAsync(
            new("client_credentials", "AuthServer", ours, _ => Task.FromResult(TokenLoad(url, service, "grant_type=client_credentials&scope=read"))),
            peer is null ? null : new("client_credentials", "oidc-provider", peer.Host, _ => Task.FromResult(
                new WrkLoad(new Uri(peer.Host.Address, "/token"), "post.lua", [$"Authorization: {peer.Service.Basic}"],
                    new Dictionary<string, string> { ["BENCH_BODY"] = "grant_type=client_credentials&scope=read" }))));
        await ScenarioAsync(new("authorization_code + PKCE", "AuthServer", ours, async expected =>
        {
            var lines = await MintAsync(email, app, expected, refresh: false);
            return LinesLoad(url, app, lines, "grant_type=authorization_code&%s&redirect_uri=" + Uri.EscapeDataString(Flows.RedirectUri));
        }));
        await ScenarioAsync(new("refresh_token", "AuthServer", ours, async expected =>
        {
            var lines = await MintAsync(email, app, expected, refresh: true);
            return LinesLoad(url, app, lines, "grant_type=refresh_token&%s");
        }));
        await Flows.EnsureActiveAsync(_http, new Uri(url, "/oauth/introspect"), resourceServer, serviceToken);
        await ScenarioAsync(
            new("introspection", "AuthServer", ours, _ => Task.FromResult(IntrospectionLoad(new Uri(url, "/oauth/introspect"), resourceServer, serviceToken))),
            peer is null ? null : new("introspection", "oidc-provider", peer.Host, _ => Task.FromResult(
                IntrospectionLoad(new Uri(peer.Host.Address, "/token/introspection"), peer.ResourceServer, peer.Token))));
        var bareSide = bare is null ? null : new Side("bare endpoint", "calibration", bare, _ => Task.FromResult(
            new WrkLoad(new Uri(bare.Address, "/v1/models"), "get.lua", Proxy)));
        await ScenarioAsync(new("GET /v1/models (API key)", "AuthServer", ours, _ => Task.FromResult(
            new WrkLoad(new Uri(url, "/v1/models"), "get.lua", [.. Proxy, $"Authorization: Bearer {apiKey}"]))), bareSide);
        await ScenarioAsync(new("GET /v1/user/profile (JWT)", "AuthServer", ours, _ => Task.FromResult(
            new WrkLoad(new Uri(url, "/v1/user/profile"), "get.lua", [.. Proxy, $"Authorization: Bearer {userToken}"]))), bareSide);

        await MeasureTelemetryAsync(ours, environment, service, apiKey);

        if (settings.Includes("full sign-in flow"))
        {
            Log("full sign-in flow: creating people");
            var people = new ConcurrentBag<(string, string)>();
            await Parallel.ForEachAsync(Enumerable.Range(0, settings.FlowConcurrency), async (_, _) =>
            {
                var person = $"person-{Guid.NewGuid():N}@example.com";
                await Flows.SignUpAsync(new WebSession(_http), person, BenchPassword);
                people.Add((person, BenchPassword));
            });
            var everyone = people.ToList();
            var warmup = await WarmUpAsync("AuthServer", ours, window => SignInLoad.RunAsync(_http, app, everyone, settings.FlowConcurrency, window));
            // Each run of flows sits between two runs of the bare hash (hash, flows, hash, flows, ..., hash), so that the
            // rates compared come from the same minutes: on a shared VM the speed of the machine itself can change by a
            // factor of two within minutes (see Ratios).
            var runs = new List<RunResult>();
            var hashes = new List<RunResult>();
            var calibrate = settings.Includes("password-hash");
            void Hash()
            {
                hashes.Add(Calibration.PasswordHashRate(TimeSpan.FromSeconds(settings.Duration)));
                Log($"  password hash run {hashes.Count}: {hashes[^1].PerSecond:F1} hashes/s, p50 {hashes[^1].P50Ms:F1} ms, CPU {Report.Cpu(hashes[^1].CpuMs)}/hash");
            }

            if (calibrate)
            {
                Hash();
            }

            for (var run = 0; run < settings.Runs; run++)
            {
                var before = ours.ProcessorTime;
                var result = await SignInLoad.RunAsync(_http, app, everyone, settings.FlowConcurrency, TimeSpan.FromSeconds(settings.Duration));
                runs.Add(result with { CpuMs = (ours.ProcessorTime - before).TotalMilliseconds / Math.Max(1, result.Requests) });
                Log($"  full sign-in flow run {run + 1}: {runs[^1].PerSecond:F1} flows/s, p50 {runs[^1].P50Ms:F1} ms, p99 {runs[^1].P99Ms:F1} ms, errors {runs[^1].Errors}, server CPU {Report.Cpu(runs[^1].CpuMs)}/flow");
                if (calibrate)
                {
                    Hash();
                }
            }

            Record("full sign-in flow", "AuthServer", runs, warmup, "flows/s", hashes.Count == runs.Count + 1 ? Ratios(runs, hashes) : null);

            Log("full sign-in flow, step by step (one flow at a time)");
            _steps = await SignInLoad.StepsAsync(_http, app, everyone[0], ours, TimeSpan.FromSeconds(settings.Duration));
            _hashCpuMs = Calibration.OneHashCpuMs(20);
            foreach (var step in _steps)
            {
                Log($"  {step.Step}: server CPU {Report.Cpu(step.CpuMs)}, {step.LatencyMs:F1} ms");
            }

            Log($"  one password hash on one thread: CPU {Report.Cpu(_hashCpuMs)}");
            if (hashes.Count > 0)
            {
                Record(PasswordHash, "calibration", hashes, TimeSpan.Zero, "hashes/s");
            }
        }
    }

    /// <summary>
    /// The cost of metrics and tracing: a second server on the same database with OTLP export to a sink (every trace
    /// sampled, the SDK's default) and the Prometheus path on, its runs interleaved with the first server's.
    /// </summary>
    private async Task MeasureTelemetryAsync(ServerProcess off, Dictionary<string, string> environment, Client service, string apiKey)
    {
        const string Tokens = "telemetry: client_credentials";
        const string Models = "telemetry: GET /v1/models (API key)";
        if (!settings.Includes(Tokens) && !settings.Includes(Models))
        {
            return;
        }

        var sinkPort = ServerProcess.FreePort();
        await using var sink = await ServerProcess.StartAsync(
            "dotnet", [typeof(Harness).Assembly.Location, "sink", sinkPort.ToString(CultureInfo.InvariantCulture)],
            new Dictionary<string, string>(), sinkPort, "/healthz");
        var port = ServerProcess.FreePort();
        // BENCH_TELEMETRY: all (default: OTLP metrics and traces, and the Prometheus path), metrics (the Prometheus
        // path only), traces (OTLP with the Prometheus path off; OTLP carries metrics too).
        var mode = Environment.GetEnvironmentVariable("BENCH_TELEMETRY") ?? "all";
        var telemetry = new Dictionary<string, string>(environment);
        if (mode is "all" or "traces")
        {
            telemetry["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink.Address.AbsoluteUri.TrimEnd('/');
            telemetry["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        }

        if (mode is "all" or "metrics")
        {
            telemetry["Observability__PrometheusPath"] = "/metrics";
        }

        foreach (var variable in new[] { "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG" })
        {
            if (Environment.GetEnvironmentVariable(variable) is { } value)
            {
                telemetry[variable] = value;
            }
        }

        Log($"AuthServer with telemetry ({mode}): http://127.0.0.1:{port}");
        await using var on = await ServerProcess.StartAsync("dotnet", [settings.ServerDll, "--urls", $"http://127.0.0.1:{port}"], telemetry, port, "/healthz");
        await ScenarioAsync(
            new(Tokens, "AuthServer, telemetry on", on, _ => Task.FromResult(TokenLoad(on.Address, service, "grant_type=client_credentials&scope=read"))),
            new(Tokens, "AuthServer, telemetry off", off, _ => Task.FromResult(TokenLoad(off.Address, service, "grant_type=client_credentials&scope=read"))));
        await ScenarioAsync(
            new(Models, "AuthServer, telemetry on", on, _ => Task.FromResult(
                new WrkLoad(new Uri(on.Address, "/v1/models"), "get.lua", [.. Proxy, $"Authorization: Bearer {apiKey}"]))),
            new(Models, "AuthServer, telemetry off", off, _ => Task.FromResult(
                new WrkLoad(new Uri(off.Address, "/v1/models"), "get.lua", [.. Proxy, $"Authorization: Bearer {apiKey}"]))));
    }

    private async Task<ServerProcess?> StartBareAsync()
    {
        if (!settings.Includes("bare endpoint"))
        {
            return null;
        }

        var port = ServerProcess.FreePort();
        Log($"bare endpoint: http://127.0.0.1:{port}");
        return await ServerProcess.StartAsync(
            "dotnet", [typeof(Harness).Assembly.Location, "bare", port.ToString(CultureInfo.InvariantCulture), Path.Combine(settings.OutDirectory, "models.json")],
            new Dictionary<string, string> { ["DOTNET_gcServer"] = "1" }, port, "/healthz");
    }

    private async Task<Peer?> StartPeerAsync()
    {
        if (!settings.Includes("client_credentials") && !settings.Includes("introspection"))
        {
            return null;
        }

        var port = ServerProcess.FreePort();
        var service = new Client("bench-service", Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
        var resourceServer = new Client("platform-api", Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
        Log($"oidc-provider: http://127.0.0.1:{port}");
        var host = await ServerProcess.StartAsync(
            "node", [Path.Combine(settings.PeerDirectory, "server.mjs"), port.ToString(CultureInfo.InvariantCulture), service.Secret, resourceServer.Secret],
            new Dictionary<string, string> { ["NODE_ENV"] = "production" }, port, "/.well-known/openid-configuration");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(host.Address, "/token"))
        {
            Content = new FormUrlEncodedContent([new("grant_type", "client_credentials"), new("scope", "read"), new("resource", "urn:platform-api:opaque")]),
        };
        request.Headers.Authorization = service.Basic;
        using var response = await _http.SendAsync(request);
        var token = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("access_token").GetString()!;
        await Flows.EnsureActiveAsync(_http, new Uri(host.Address, "/token/introspection"), resourceServer, token);
        return new Peer(host, service, resourceServer, token);
    }

    /// <summary>
    /// Warm-up, then the runs; a side's <see cref="Side.Prepare"/> is given the requests a run is expected to make. With
    /// a <paramref name="reference"/>, each of our runs is followed by one of the reference's. The CPU time the host
    /// spends during each run, per request, goes with it: on a shared VM it varies far less than throughput does.
    /// </summary>
    private async Task ScenarioAsync(Side ours, Side? reference = null)
    {
        var sides = new[] { ours, reference }.OfType<Side>().Where(side => settings.Includes(side.Scenario)).ToList();
        if (sides.Count == 0)
        {
            return;
        }

        Log(string.Join(", then ", sides.Select(side => $"{side.Scenario} on {side.Server}")));
        var expected = new Dictionary<Side, long>();
        var warmups = new Dictionary<Side, TimeSpan>();
        foreach (var side in sides)
        {
            // A short first run gives the pace, so that a scenario whose requests are minted ahead (codes, refresh
            // tokens, each used once) has enough of them for the whole warm-up: run dry, wrk would warm the
            // invalid_grant path instead.
            var probe = await Wrk.RunAsync(settings, await side.Prepare(2_000), WarmupProbeSeconds);
            var pace = probe.PerSecond;
            warmups[side] = await WarmUpAsync(side.Server, side.Host, async window =>
            {
                var warmup = await Wrk.RunAsync(settings, await side.Prepare((long)Math.Max(2_000, pace * window.TotalSeconds * 1.5)), (int)window.TotalSeconds);
                pace = Math.Max(pace, warmup.PerSecond);
            });
            // The pace can still rise after the warm-up (a probe's was a cold server's): mint generously.
            expected[side] = (long)Math.Max(1_000, pace * settings.Duration * 2.5);
        }

        var runs = sides.ToDictionary(side => side, _ => new List<RunResult>());
        async Task RunAsync(Side side)
        {
            var load = await side.Prepare(expected[side]);
            var before = side.Host.ProcessorTime;
            var result = await Wrk.RunAsync(settings, load, settings.Duration);
            runs[side].Add(result with { CpuMs = (side.Host.ProcessorTime - before).TotalMilliseconds / Math.Max(1, result.Requests) });
            var last = runs[side][^1];
            Log($"  {side.Server} run {runs[side].Count}: {last.PerSecond:F0} req/s, p50 {last.P50Ms:F2} ms, p99 {last.P99Ms:F2} ms, errors {last.Errors}, server CPU {Report.Cpu(last.CpuMs)}/request");
            expected[side] = (long)Math.Max(expected[side], last.PerSecond * settings.Duration * 1.5);
        }

        // With a reference, each of our runs sits between two of its runs (see Ratios): the reference runs once first.
        if (sides.Count == 2)
        {
            await RunAsync(sides[1]);
        }

        for (var run = 0; run < settings.Runs; run++)
        {
            foreach (var side in sides)
            {
                await RunAsync(side);
            }
        }

        var theirs = reference is null ? null : runs.GetValueOrDefault(reference);
        if (runs.TryGetValue(ours, out var mine))
        {
            Record(ours.Scenario, ours.Server, mine, warmups[ours], ratios: theirs is null ? null : Ratios(mine, theirs));
        }

        if (theirs is not null)
        {
            Record(reference!.Scenario, reference.Server, theirs, warmups[reference!]);
        }
    }

    /// <summary>
    /// The warm-up: <see cref="BenchSettings.Warmup"/> seconds of load, then more in windows of
    /// <see cref="SettleWindowSeconds"/> for as long as the host's JIT is still busy. With tiered compilation and Dynamic
    /// PGO a .NET server recompiles its hot methods in the background for a while after a start (about 75 s of sign-in
    /// flows, at half a core, measured on this kind of machine), and runs taken meanwhile measure the compiler as much as
    /// the server. The warm-up ends after the first stretch in which the host's tiering thread used less than
    /// <see cref="SettledShare"/> of it (at once for node, which has none), or after <see cref="MaxWarmupSeconds"/>.
    /// Returns how long it lasted.
    /// </summary>
    private async Task<TimeSpan> WarmUpAsync(string name, ServerProcess host, Func<TimeSpan, Task> load)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var window = TimeSpan.FromSeconds(settings.Warmup);
        while (true)
        {
            var before = host.TieringTime;
            await load(window);
            var busy = Math.Max(0, (host.TieringTime - before) / window);
            if (busy < SettledShare || watch.Elapsed >= TimeSpan.FromSeconds(MaxWarmupSeconds))
            {
                Log($"  {name} warm after {watch.Elapsed.TotalSeconds:F0} s (JIT in the last {window.TotalSeconds:F0} s: {busy:P0} of a core)");
                return watch.Elapsed;
            }

            window = TimeSpan.FromSeconds(SettleWindowSeconds);
        }
    }

    /// <summary>Adds a row, or adds the runs to the row already there (the bare endpoint is run beside two scenarios).</summary>
    private void Record(
        string scenario, string server, List<RunResult> runs, TimeSpan warmup, string unit = "req/s", IReadOnlyList<double>? ratios = null)
    {
        var index = _results.FindIndex(result => result.Scenario == scenario && result.Server == server);
        if (index < 0)
        {
            _results.Add(new Measurement(scenario, server, Median(runs), runs, warmup, unit, ratios));
            return;
        }

        List<RunResult> all = [.. _results[index].Runs, .. runs];
        _results[index] = _results[index] with { Median = Median(all), Runs = all, Warmup = _results[index].Warmup + warmup };
    }

    /// <summary>
    /// The ratio of each of our runs to the reference's rate around it: the mean of the reference's run just before and
    /// just after (the reference ran once more than we did, first and then after each of our runs). A steady drift of the
    /// VM's speed over the minute of the three runs cancels out, where a ratio to the next run alone takes all of it.
    /// </summary>
    private static List<double> Ratios(List<RunResult> ours, List<RunResult> reference) =>
        [.. ours.Select((run, i) =>
        {
            var around = (reference[i].PerSecond + reference[i + 1].PerSecond) / 2;
            return around > 0 ? run.PerSecond / around : 0;
        })];

    private static WrkLoad TokenLoad(Uri server, Client client, string body) =>
        new(new Uri(server, "/oauth/token"), "post.lua", [.. Proxy, $"Authorization: {client.Basic}"],
            new Dictionary<string, string> { ["BENCH_BODY"] = body });

    private static WrkLoad IntrospectionLoad(Uri endpoint, Client client, string token) =>
        new(endpoint, "post.lua", [.. Proxy, $"Authorization: {client.Basic}"],
            new Dictionary<string, string> { ["BENCH_BODY"] = "token=" + Uri.EscapeDataString(token) + "&token_type_hint=access_token" });

    private static WrkLoad LinesLoad(Uri server, Client client, string file, string template) =>
        new(new Uri(server, "/oauth/token"), "lines.lua", [.. Proxy, $"Authorization: {client.Basic}"],
            new Dictionary<string, string>
            {
                ["BENCH_FILE"] = file,
                // Lua's string.format: the one %s is the line; every other % is doubled.
                ["BENCH_TEMPLATE"] = template.Replace("%", "%%", StringComparison.Ordinal).Replace("%%s", "%s", StringComparison.Ordinal),
            });

    /// <summary>Codes (with their verifiers) or refresh tokens minted ahead, one per line, each used once.</summary>
    private async Task<string> MintAsync(string email, Client app, long count, bool refresh)
    {
        count = Math.Min(count, 200_000);
        var lines = new ConcurrentBag<string>();
        var workers = 8;
        await Parallel.ForEachAsync(Enumerable.Range(0, workers), async (worker, _) =>
        {
            var session = new WebSession(_http);
            await Flows.SignInAsync(session, email, BenchPassword);
            for (var i = worker; i < count; i += workers)
            {
                var pkce = Pkce.Create();
                var code = await Flows.CodeAsync(session, Flows.AuthorizeUrl(app.Id, refresh ? "openid read offline_access" : "read", pkce));
                if (refresh)
                {
                    var tokens = await Flows.RedeemAsync(_http, app, code, pkce);
                    lines.Add("refresh_token=" + Uri.EscapeDataString(tokens.GetProperty("refresh_token").GetString()!));
                }
                else
                {
                    lines.Add($"code={Uri.EscapeDataString(code)}&code_verifier={Uri.EscapeDataString(pkce.Verifier)}");
                }
            }
        });
        var file = Path.Combine(settings.OutDirectory, refresh ? "refresh-tokens.txt" : "codes.txt");
        await File.WriteAllLinesAsync(file, lines);
        return file;
    }

    private static async Task<Client> ClientAsync(string cli, Dictionary<string, string> environment, string name, IEnumerable<string> options)
    {
        var created = await Command.RunJsonAsync("dotnet", [cli, "clients", "create", "--name", name, .. options], environment);
        return new Client(created.GetProperty("client_id").GetString()!, created.GetProperty("client_secret").GetString()!);
    }

    /// <summary>The middle value (the upper one of an even count).</summary>
    public static double Middle(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static RunResult Median(List<RunResult> runs)
    {
        var byRate = runs.OrderBy(run => run.PerSecond).ToList()[runs.Count / 2];
        return byRate with
        {
            P50Ms = Middle(runs.Select(run => run.P50Ms)),
            P99Ms = Middle(runs.Select(run => run.P99Ms)),
            Errors = runs.Sum(run => run.Errors),
        };
    }

    public void Dispose() => _http.Dispose();

    public static void Log(string message) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
}
