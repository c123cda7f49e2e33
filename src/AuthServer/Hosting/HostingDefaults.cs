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

    /// <summary>
    /// The static files of a published build, beside its binaries, wherever the process is started from (the content
    /// root is the working directory, against which relative paths in settings resolve); <see langword="null"/> for
    /// <c>dotnet run</c> and the tests, which serve them from the project.
    /// </summary>
    public static string? PublishedWebRoot()
    {
        var published = Path.Combine(AppContext.BaseDirectory, "wwwroot");
        return Directory.Exists(published) ? published : null;
    }
}
