using AuthServer.Bench;

// `bash bench/run.sh` builds AuthServer in Release and runs this harness; `bare <port> <file>` (the calibration
// endpoint) and `sink <port>` (an OTLP collector that drops everything) are processes the harness starts.
return args.FirstOrDefault() switch
{
    "bare" => await Calibration.ServeBareAsync(args[1..]),
    "sink" => await Calibration.ServeSinkAsync(args[1..]),
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
    Console.Error.WriteLine("usage: AuthServer.Bench [run] | bare <port> <body file> | sink <port>   (settings: BENCH_* environment variables, see bench/run.sh)");
    return 2;
}
