using AuthServer.Accounts;
using AuthServer.Admin;
using AuthServer.ApiKeys;
using AuthServer.ApiReference;
using AuthServer.Audit;
using AuthServer.Cli;
using AuthServer.Clients;
using AuthServer.Core;
using AuthServer.Email;
using AuthServer.Health;
using AuthServer.Hosting;
using AuthServer.OAuth;
using AuthServer.Observability;
using AuthServer.PlatformApi;
using AuthServer.RateLimiting;
using AuthServer.Retention;
using AuthServer.Usage;
using Microsoft.Extensions.Options;

// A verb (`migrate`, `users`, `clients`, `keys`, `prune`) runs the command line against the same services; without
// one the host serves. Host arguments such as `--urls` only apply when serving: the CLI reads its configuration from
// appsettings.json and environment variables so that its own options are not mistaken for configuration keys.
var cliMode = CommandLine.IsVerb(args);
var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = cliMode ? [] : args,
    EnvironmentName = HostingDefaults.EnvironmentName(args),
    WebRootPath = HostingDefaults.PublishedWebRoot(),
});

builder.Configuration.AddRootAppSettings();
if (cliMode)
{
    builder.Logging.ForCommandLine();
}

// Each feature registers itself; a feature uses only the ones above it here (docs/architecture.md draws the graph).
builder.AddDatabase();
builder.AddCaching();
builder.AddHealth();
builder.AddTransport();
builder.AddAudit();
builder.AddRateLimits();
builder.AddUsage();
builder.AddApiKeys();
builder.AddEmail();
builder.AddAccounts();
builder.AddOAuth();
builder.AddRetention();
builder.AddClients();
builder.AddPlatformApi();
builder.AddAdmin();
builder.AddApiReference();
builder.AddObservability();

var app = builder.Build();

try
{
    await app.PrepareDatabaseAsync(cliMode);

    if (cliMode)
    {
        return await CommandLine.RunAsync(app.Services, args);
    }

    // The order matters, and this is the one place it is said:
    // 1. Transport first: forwarded headers make a proxied request HTTPS with the caller's address, which everything
    //    after relies on (the HTTPS requirement, failure limits per address, the issuer).
    //    The Prometheus scrape path (when configured) answers right after, to loopback or on its own port.
    // 2. The platform API (/v1) is the hot path and has a pipeline of its own: routing, its gate (credential, scopes,
    //    rate limit, usage) and its endpoints. Nothing below runs for it.
    // 3. Security headers on every page and OAuth answer, error pages included; then the status code pages of the
    //    interactive paths, which re-execute, so they precede routing; then static files.
    // 4. Routing, then the admin API's error shape for requests it cannot read.
    // 5. The OAuth endpoints' own middleware (faults, request limits, client failure limits, introspection of API keys)
    //    before authentication, since OpenIddict answers its endpoints inside the authentication middleware.
    // 6. Authentication and authorization, then the endpoints: pages, the OAuth controller, the admin API, its OpenAPI
    //    document and reference page, health.
    var observability = app.Services.GetRequiredService<IOptions<ObservabilityOptions>>().Value;
    app.UseTransport(plainHttpAllowed: context => ObservabilityExtensions.IsScrape(context, observability), requestIdInLogs: observability.JsonLogs);
    app.UseObservability();
    app.MapWhen(context => PlatformApiExtensions.IsPlatformApi(context.Request.Path), api => api.UsePlatformApi());
    app.UseSecurityHeaders();
    app.UseOAuthErrorPages();
    app.UseStaticFiles();
    app.UseRouting();
    app.UseAdminErrors();
    app.UseOAuth();
    app.UseAuthentication();
    app.UseAuthorization();

    app.MapAccountPages();
    app.MapOAuth();
    app.MapAdmin();
    app.MapApiReference();
    app.MapHealth();

    await app.LoadServerKeysAsync();
    await app.RunAsync();
    return 0;
}
catch (OptionsValidationException exception)
{
    // A bad setting stops the server with a message naming the key, not a stack trace.
    await Console.Error.WriteLineAsync($"Configuration error: {string.Join(" ", exception.Failures)}");
    return 2;
}
catch (InvalidOperationException exception) when (exception.InnerException is FormatException)
{
    // The binder's message names the key and the value ("Failed to convert configuration value 'x' at 'A:B'").
    await Console.Error.WriteLineAsync($"Configuration error: {exception.Message}");
    return 2;
}

/// <summary>The entry point, visible to the test host (<c>WebApplicationFactory&lt;Program&gt;</c>).</summary>
public partial class Program;
