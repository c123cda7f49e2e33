using System.Net;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace AuthServer.Browser.Tests;

/// <summary>
/// The real server on a loopback port (Kestrel, plain HTTP, as in the quick start) and Debian's Chromium driven by
/// Playwright. Playwright's own browser download is never used: it fails on machines without internet access.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    /// <summary>Sessions are checked against their account on every request, so that one ended elsewhere ends at once.</summary>
    public AuthServerFactory Server { get; } = new ConfiguredAuthServerFactory(new Dictionary<string, string?> { ["Accounts:SessionCheckInterval"] = "00:00:00" });

    public IBrowser? Browser { get; private set; }

    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1");

    public string? SkipReason { get; private set; }

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            SkipReason = $"No Chromium at {ChromiumPath} (install the Debian package 'chromium').";
            if (Requirements.Required("chromium"))
            {
                throw new InvalidOperationException($"AUTHSERVER_REQUIRE names chromium, but: {SkipReason}");
            }

            return;
        }

        Server.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        Server.StartServer();
        var addresses = Server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!;
        BaseAddress = new Uri(addresses.Addresses.First());

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run",
            ],
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        await Server.DisposeAsync();
    }
}
