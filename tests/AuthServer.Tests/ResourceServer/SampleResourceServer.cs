using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AuthServer.Tests.ResourceServer;

/// <summary>
/// A third party's resource API on its own Kestrel port, knowing only the issuer URL (and, for introspection, its
/// own client credentials). <c>/local</c> validates JWTs itself through discovery and the JWKS (JwtBearer);
/// <c>/introspected</c> asks <c>/oauth/introspect</c> on every call; <c>/other-audience</c> accepts only tokens
/// meant for another API.
/// </summary>
public sealed class SampleResourceServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SampleResourceServer(WebApplication app, Uri address) => (_app, Address) = (app, address);

    public Uri Address { get; }

    public static async Task<SampleResourceServer> StartAsync(Uri issuer, string clientId, string clientSecret)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();

        builder.Services.AddAuthentication()
            .AddJwtBearer("local", options => Configure(options, issuer, "platform-api"))
            .AddJwtBearer("other", options => Configure(options, issuer, "inventory-api"))
            .AddScheme<IntrospectionOptions, IntrospectionHandler>("introspection", options =>
            {
                options.Endpoint = new Uri(issuer, "oauth/introspect");
                options.ClientId = clientId;
                options.ClientSecret = clientSecret;
            });
        builder.Services.AddHttpClient();
        builder.Services.AddAuthorization();

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        foreach (var (path, scheme) in new[] { ("/local", "local"), ("/introspected", "introspection"), ("/other-audience", "other") })
        {
            app.MapGet(path, (ClaimsPrincipal user) => Results.Ok(new { sub = user.FindFirst("sub")?.Value }))
                .RequireAuthorization(policy => policy
                    .AddAuthenticationSchemes(scheme)
                    .RequireAuthenticatedUser()
                    .RequireAssertion(context => (context.User.FindFirst("scope")?.Value ?? "").Split(' ').Contains("read")));
        }

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new SampleResourceServer(app, new Uri(address));
    }

    private static void Configure(JwtBearerOptions options, Uri issuer, string audience)
    {
        options.Authority = issuer.AbsoluteUri;
        options.Audience = audience;
        options.RequireHttpsMetadata = false; // the test servers talk plain HTTP on loopback
        options.MapInboundClaims = false;
        options.TokenValidationParameters.ClockSkew = TimeSpan.Zero;
        options.TokenValidationParameters.ValidTypes = ["at+jwt"];
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public sealed class IntrospectionOptions : AuthenticationSchemeOptions
    {
        public Uri Endpoint { get; set; } = null!;

        public string ClientId { get; set; } = "";

        public string ClientSecret { get; set; } = "";
    }

    /// <summary>RFC 7662 on every request: active tokens become a principal with sub and scope.</summary>
    private sealed class IntrospectionHandler(
        IOptionsMonitor<IntrospectionOptions> options, ILoggerFactory logger, UrlEncoder encoder, IHttpClientFactory http)
        : AuthenticationHandler<IntrospectionOptions>(options, logger, encoder)
    {
        protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var header = Request.Headers.Authorization.ToString();
            if (!header.StartsWith("Bearer ", StringComparison.Ordinal))
            {
                return AuthenticateResult.NoResult();
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, Options.Endpoint)
            {
                Headers =
                {
                    Authorization = new AuthenticationHeaderValue(
                        "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Options.ClientId}:{Options.ClientSecret}"))),
                },
                Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = header["Bearer ".Length..] }),
            };
            using var response = await http.CreateClient().SendAsync(request, Context.RequestAborted);
            if (!response.IsSuccessStatusCode)
            {
                return AuthenticateResult.Fail($"Introspection answered {(int)response.StatusCode}.");
            }

            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Context.RequestAborted));
            if (!body.RootElement.GetProperty("active").GetBoolean())
            {
                return AuthenticateResult.Fail("The token is not active.");
            }

            var identity = new ClaimsIdentity(Scheme.Name);
            foreach (var claim in new[] { "sub", "scope", "client_id", "token_type" })
            {
                if (body.RootElement.TryGetProperty(claim, out var value) && value.ValueKind == JsonValueKind.String)
                {
                    identity.AddClaim(new Claim(claim, value.GetString()!));
                }
            }

            return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
        }
    }
}
