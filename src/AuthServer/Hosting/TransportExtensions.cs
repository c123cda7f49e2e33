using System.Net;
using System.Text.Encodings.Web;
using AuthServer.Health;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.HttpsPolicy;
using Microsoft.Extensions.Options;

namespace AuthServer.Hosting;

/// <summary>
/// HTTPS is required in every environment but Development. In Development plain HTTP is accepted from loopback
/// clients only, so the quick start needs no certificate while nothing off the machine can talk to it in clear text.
/// Behind a TLS-terminating proxy, <see cref="TransportOptions.UseForwardedHeaders"/> makes forwarded HTTPS count.
/// </summary>
internal static class TransportExtensions
{
    public static IHostApplicationBuilder AddTransport(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<TransportOptions>()
            .BindConfiguration(TransportOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(
                options => options.KnownProxies.All(proxy => IPAddress.TryParse(proxy, out _)),
                $"{TransportOptions.SectionName}:KnownProxies must list IP addresses.")
            .ValidateOnStart();

        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<TransportOptions>>((forwarded, transport) =>
        {
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            foreach (var proxy in transport.Value.KnownProxies)
            {
                forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
            }
        });

        services.AddOptions<HstsOptions>().Configure<IOptions<TransportOptions>>(
            (hsts, transport) => hsts.MaxAge = transport.Value.HstsMaxAge);

        // JSON answers write ', <, > and & as they are (not \u0027...): they are application/json with nosniff, never
        // embedded in a page, so the escapes would only hurt the people reading them.
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping);
        return builder;
    }

    public const string RequestIdHeader = "X-Request-Id";

    /// <param name="app">The application.</param>
    /// <param name="plainHttpAllowed">Requests other than health probes that may arrive over plain HTTP (an internal scrape).</param>
    /// <param name="requestIdInLogs">Open a log scope with the request id around every request (when the logs print scopes).</param>
    public static WebApplication UseTransport(this WebApplication app, Func<HttpContext, bool>? plainHttpAllowed = null, bool requestIdInLogs = false)
    {
        var transport = app.Services.GetRequiredService<IOptions<TransportOptions>>().Value;
        if (transport.UseForwardedHeaders)
        {
            // A request id set by a trusted proxy names the request here too, in its logs and answers (before the
            // forwarded headers replace the proxy's address by the client's).
            var forwarded = app.Services.GetRequiredService<IOptions<ForwardedHeadersOptions>>().Value;
            app.Use((context, next) =>
            {
                if (context.Request.Headers[RequestIdHeader] is [{ } id] && IsUsableRequestId(id)
                    && IsKnownProxy(forwarded, context.Connection.RemoteIpAddress))
                {
                    context.TraceIdentifier = id;
                }

                return next(context);
            });
            app.UseForwardedHeaders();
        }

        var development = app.Environment.IsDevelopment();
        if (!development)
        {
            app.UseHsts();
        }

        if (requestIdInLogs)
        {
            // The host opens no scope of its own (its diagnostics category is off, see docs/operations.md#logging).
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TransportExtensions).FullName!);
            app.Use(async (context, next) =>
            {
                using (logger.BeginScope(new RequestIdScope(context.TraceIdentifier)))
                {
                    await next(context);
                }
            });
        }

        app.Use((context, next) =>
        {
            // Every answer names its request, so that a caller (and the SDKs' errors) can quote it to an operator.
            context.Response.Headers[RequestIdHeader] = context.TraceIdentifier;
            if (context.Request.IsHttps
                || (development && IsLoopback(context.Connection.RemoteIpAddress))
                || HealthExtensions.IsProbe(context.Request.Path)
                || plainHttpAllowed?.Invoke(context) == true)
            {
                return next(context);
            }

            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return context.Response.WriteAsJsonAsync(new
            {
                error = "invalid_request",
                error_description = development
                    ? "Plain HTTP is accepted from loopback clients only in Development; use HTTPS."
                    : "This server requires HTTPS.",
            });
        });

        return app;
    }

    private static bool IsKnownProxy(ForwardedHeadersOptions forwarded, IPAddress? address) =>
        address is not null
        && (forwarded.KnownProxies.Contains(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address) || forwarded.KnownProxies.Contains(address)
            || forwarded.KnownIPNetworks.Any(network => network.Contains(address)));

    /// <summary>An id a proxy may give: short, printable, nothing a log line or a header would need to escape.</summary>
    private static bool IsUsableRequestId(string id) =>
        id.Length is > 0 and <= 128 && id.All(character => char.IsAsciiLetterOrDigit(character) || character is '-' or '_' or '.' or ':');

    /// <summary>The request id on every log line of the request.</summary>
    private sealed class RequestIdScope(string id) : IReadOnlyList<KeyValuePair<string, object>>
    {
        public int Count => 1;

        public KeyValuePair<string, object> this[int index] =>
            index == 0 ? new KeyValuePair<string, object>("RequestId", id) : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<KeyValuePair<string, object>> GetEnumerator()
        {
            yield return this[0];
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => $"RequestId:{id}";
    }

    // Note: the in-process test server has no socket and reports no remote address.
    private static bool IsLoopback(IPAddress? address) => address is null || IPAddress.IsLoopback(address);
}
