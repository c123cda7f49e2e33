using System.Runtime.CompilerServices;

namespace AuthServer.Tests.Infrastructure;

/// <summary>
/// Every host a test starts watches its files (configuration, the web root for <c>asp-append-version</c>), and on Linux
/// each watcher is an inotify instance: with the suites running side by side, the 128 a user may hold (Debian's
/// default) ran out and a page answered 500. Hosts in the tests, and the server processes they start (who inherit the
/// environment), poll for changes instead; nothing in a test changes those files.
/// </summary>
internal static class FileWatching
{
    [ModuleInitializer]
    internal static void PollInsteadOfWatching() => Environment.SetEnvironmentVariable("DOTNET_USE_POLLING_FILE_WATCHER", "true");
}
