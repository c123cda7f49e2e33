namespace AuthServer.Tests.Infrastructure;

/// <summary>CI sets <c>AUTHSERVER_REQUIRE=redis,chromium</c> so that a missing server fails the run instead of skipping.</summary>
public static class Requirements
{
    public static bool Required(string what) =>
        (Environment.GetEnvironmentVariable("AUTHSERVER_REQUIRE") ?? "")
            .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Contains(what, StringComparer.OrdinalIgnoreCase);
}
