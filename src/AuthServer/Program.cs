using AuthServer.Accounts;
using AuthServer.Admin;
using AuthServer.ApiKeys;
using AuthServer.Audit;
using AuthServer.Cli;
using AuthServer.Clients;
using AuthServer.Health;
using AuthServer.Hosting;
using AuthServer.OAuth;
using AuthServer.PlatformApi;
using AuthServer.RateLimiting;
using Microsoft.Extensions.Options;

// A verb (`migrate`, `users create`, `clients create`) runs the command line against the same services; without
// one the host serves. Host arguments such as `--urls` only apply when serving: the CLI reads its configuration from
// appsettings.json and environment variables so that its own options are not mistaken for configuration keys.
var cliMode = CommandLine.IsVerb(args);
var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = cliMode ? [] : args,
    EnvironmentName = HostingDefaults.EnvironmentName(args),
});

builder.Configuration.AddRootAppSettings();
if (cliMode)
{
    builder.Logging.ForCommandLine();
}

builder.Services.AddDatabase();
builder.Services.AddAccounts();
builder.Services.AddOAuth(builder.Configuration, builder.Environment);
builder.Services.AddClients();
builder.Services.AddAudit();
builder.Services.AddApiKeys();
builder.Services.AddAdmin();
builder.Services.AddPlatformApi();
builder.Services.AddRateLimits(builder.Configuration);
builder.Services.AddHealth();
builder.Services.AddTransport();

var app = builder.Build();

try
{
    await app.PrepareDatabaseAsync(cliMode);

    if (cliMode)
    {
        return await CommandLine.RunAsync(app.Services, args);
    }

    app.UseTransport();

    // The platform API (/v1) is the hot path and has a pipeline of its own, with its own endpoints: routing, its gate
    // (authenticates the bearer credential, checks the endpoint's scopes, applies the rate limit), the endpoint.
    // Nothing that only pages and the OAuth endpoints need runs for it (status code pages, static files, the OAuth
    // request limits, the session cookie, OpenIddict's per-request endpoint dispatch, the authorization middleware).
    app.MapWhen(context => PlatformApiExtensions.IsPlatformApi(context.Request.Path), api => api.UsePlatformApi());

    app.UseSecurityHeaders();
    app.UseOAuthErrorPages();
    app.UseOAuthFaults();
    app.UseStaticFiles();
    app.UseRouting();
    app.UseAdminErrors();
    app.UseOAuthRequestLimits();
    app.UseTokenFailureLimits();
    app.UseApiKeyIntrospection();
    app.UseIntrospectionCache();
    app.UseAuthentication();
    app.UseAuthorization();

    app.MapAccountPages();
    app.MapOAuthEndpoints();
    app.MapAdmin();
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
