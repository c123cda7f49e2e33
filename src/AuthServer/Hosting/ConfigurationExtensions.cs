using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;

namespace AuthServer.Hosting;

internal static class ConfigurationExtensions
{
    /// <summary>
    /// Adds the repository's one <c>appsettings.json</c>, copied beside the binaries, as the lowest-precedence source.
    /// </summary>
    /// <remarks>
    /// Note: the content root of <c>dotnet run</c> and of the test host is the project folder, where no settings file
    /// lives; reading it from <see cref="AppContext.BaseDirectory"/> works for run, tests and publish alike, and
    /// keeping it first lets environment variables and command-line arguments override every key.
    /// Moving the content root instead would break static files.
    /// </remarks>
    public static IConfigurationBuilder AddRootAppSettings(this IConfigurationBuilder configuration)
    {
        var source = new JsonConfigurationSource
        {
            FileProvider = new PhysicalFileProvider(AppContext.BaseDirectory),
            Path = "appsettings.json",
            Optional = false,
            ReloadOnChange = false,
        };

        configuration.Sources.Insert(0, source);
        return configuration;
    }

    /// <summary>CLI verbs print their result on stdout; logs go to stderr, and only warnings and errors.</summary>
    public static ILoggingBuilder ForCommandLine(this ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
        logging.SetMinimumLevel(LogLevel.Warning);
        logging.AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Error);
        return logging;
    }
}
