using System.Net;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AuthServer.Sdk.Tests;

/// <summary>
/// The real server on a loopback port (Kestrel, plain HTTP, as in the quick start), with a developer who signed up
/// and made two keys on the dashboard: one with <c>read</c>, one with <c>write</c> only.
/// </summary>
public sealed class SdkServerFixture : IAsyncLifetime
{
    public AuthServerFactory Server { get; } = new();

    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1");

    public string Email { get; } = OAuthFlow.NewEmail();

    public string ReadKey { get; private set; } = "";

    public string WriteOnlyKey { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        Server.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        Server.StartServer();
        var addresses = Server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!;
        BaseAddress = new Uri(addresses.Addresses.First());

        using var browser = NewBrowser();
        await OAuthFlow.SignUpAsync(browser, Email);
        ReadKey = await Dashboard.CreateKeyAsync(browser, scopes: ["read"]);
        WriteOnlyKey = await Dashboard.CreateKeyAsync(browser, scopes: ["write"]);
    }

    /// <summary>A browser on the real address: cookies kept, redirects not followed.</summary>
    public TestBrowser NewBrowser() => new(new HttpClient(
        new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() })
    {
        BaseAddress = BaseAddress,
    })
    {
        Mailbox = Server.Mailbox,
    };

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// A local HTTP server for what the real one cannot be made to do on demand (drop a connection, answer slowly); it
/// passes the other requests on to the real server.
/// </summary>
public sealed class StubServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private StubServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    private int _calls;

    /// <summary>Requests received so far.</summary>
    public int Calls => Volatile.Read(ref _calls);

    public static async Task<StubServer> StartAsync(Func<HttpContext, int, Task> handle)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        StubServer? stub = null;
        app.Run(context => handle(context, Interlocked.Increment(ref stub!._calls)));
        await app.StartAsync();
        stub = new StubServer(app, new Uri(app.Urls.First()));
        return stub;
    }

    /// <summary>Passes the request on to <paramref name="target"/> and its answer back.</summary>
    public static async Task ForwardAsync(HttpContext context, Uri target)
    {
        using var http = new HttpClient { BaseAddress = target };
        using var request = new HttpRequestMessage(HttpMethod.Get, context.Request.Path + context.Request.QueryString);
        request.Headers.TryAddWithoutValidation("Authorization", context.Request.Headers.Authorization.ToString());
        using var answer = await http.SendAsync(request);
        context.Response.StatusCode = (int)answer.StatusCode;
        foreach (var header in answer.Headers.Concat(answer.Content.Headers))
        {
            if (header.Key is not ("Transfer-Encoding" or "Content-Length"))
            {
                context.Response.Headers[header.Key] = header.Value.ToArray();
            }
        }

        await context.Response.Body.WriteAsync(await answer.Content.ReadAsByteArrayAsync());
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
