namespace AuthServer.Hosting;

/// <summary>
/// The environment when none is named: a Debug build (what <c>dotnet run</c> builds) is Development, so the quick
/// start serves plain HTTP to loopback clients; a Release build (what <c>dotnet publish</c> makes) is Production,
/// where HTTPS is required. <c>ASPNETCORE_ENVIRONMENT</c>, <c>DOTNET_ENVIRONMENT</c> or <c>--environment</c> always win.
/// </summary>
/// <remarks>
/// Note: this replaces a launch profile, because <c>dotnet run</c> announces a launch profile on stdout, ahead of
/// the JSON that the CLI verbs print and scripts parse.
/// </remarks>
internal static class HostingDefaults
{
    public static string? EnvironmentName(string[] args)
    {
        if (Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT") is { Length: > 0 }
            || Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT") is { Length: > 0 }
            || args.Any(arg => arg.StartsWith("--environment", StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

#if DEBUG
        return Environments.Development;
#else
        return Environments.Production;
#endif
    }
}
