using AuthServer.Bench;

// `bash bench/run.sh` builds AuthServer in Release and runs this harness; `bare <port> <file>` is the calibration
// endpoint the harness starts as a process of its own.
return args.FirstOrDefault() switch
{
    "bare" => await Calibration.ServeBareAsync(args[1..]),
    null or "run" => await RunAsync(),
    _ => Usage(),
};

static async Task<int> RunAsync()
{
    using var harness = new Harness(BenchSettings.FromEnvironment());
    return await harness.RunAsync();
}

static int Usage()
{
    Console.Error.WriteLine("usage: AuthServer.Bench [run] | bare <port> <body file>   (settings: BENCH_* environment variables, see bench/run.sh)");
    return 2;
}
