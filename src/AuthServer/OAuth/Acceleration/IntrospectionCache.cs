using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AuthServer.Core;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.OAuth.Acceleration;

/// <summary>
/// Remembers OpenIddict's <c>"active": true</c> introspection answers about access tokens, by client and token, for
/// <see cref="CachingOptions.Introspection"/> (never past the token's <c>exp</c>). A resource server that introspects
/// the same bearer token on every call it receives then costs a memory lookup, not a token validation and database
/// read. The caller still authenticates on every request: a remembered answer is given only to the client it was
/// given to, presenting the same secret (compared as SHA-256, in constant time).
/// An answer is served only while <see cref="AccessTokenStatus.Generation"/> is the one read before OpenIddict
/// answered: every revocation, deletion and client change made through this node's managers moves it, so it is seen by
/// the next call here; one made on another node is seen within the cache duration.
/// </summary>
internal sealed class IntrospectionCache(IOptions<CachingOptions> caching, AccessTokenStatus changes, TimeProvider clock) : IDisposable
{
    private static readonly string[] ReplayedHeaders = ["Pragma", "Expires"];

    private readonly MemoryCache _answers = new(new MemoryCacheOptions { SizeLimit = 10_000 });

    private sealed record Answer(byte[] Body, string? ContentType, KeyValuePair<string, StringValues>[] Headers, byte[] SecretHash, long Generation);

    public static IApplicationBuilder Use(IApplicationBuilder app) =>
        app.UseWhen(
            context => HttpMethods.IsPost(context.Request.Method)
                && context.Request.Path.Equals(Routes.Introspect, StringComparison.OrdinalIgnoreCase)
                && context.Request.HasFormContentType,
            branch => branch.Use((context, next) =>
                context.RequestServices.GetRequiredService<IntrospectionCache>().InvokeAsync(context, next)));

    private async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var duration = caching.Value.Introspection;
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        if (duration <= TimeSpan.Zero
            || form[Parameters.Token].ToString() is not { Length: > 0 } token
            || ClientCredentials.Read(context.Request, form) is not { } client)
        {
            await next(context);
            return;
        }

        // An answer describes a live credential: no one on the way may store it (RFC 7662 section 4).
        context.Response.Headers.CacheControl = "no-store";
        var key = client.ClientId + "\n" + token;
        var secretHash = SHA256.HashData(Encoding.UTF8.GetBytes(client.Secret));
        var generation = changes.Generation;
        if (_answers.TryGetValue(key, out Answer? answer)
            && answer!.Generation == generation
            && CryptographicOperations.FixedTimeEquals(answer.SecretHash, secretHash))
        {
            context.Response.ContentType = answer.ContentType;
            foreach (var (name, value) in answer.Headers)
            {
                context.Response.Headers[name] = value;
            }

            await context.Response.Body.WriteAsync(answer.Body, context.RequestAborted);
            return;
        }

        // Not remembered: OpenIddict answers, into a buffer we keep a copy of when it says the token is active.
        var original = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = original;
        }

        var body = buffer.ToArray();
        if (context.Response.StatusCode == StatusCodes.Status200OK && ActiveUntil(body) is { } expiresAt)
        {
            var until = clock.GetUtcNow() + duration;
            _answers.Set(key, new Answer(
                body, context.Response.ContentType,
                [.. ReplayedHeaders.Where(context.Response.Headers.ContainsKey).Select(name => KeyValuePair.Create(name, context.Response.Headers[name]))],
                secretHash, generation),
                new MemoryCacheEntryOptions { AbsoluteExpiration = expiresAt < until ? expiresAt : until, Size = 1 });
        }

        await original.WriteAsync(body, context.RequestAborted);
    }

    /// <summary>
    /// The token's expiry when the answer is <c>"active": true</c> for an access token with an <c>exp</c>; otherwise
    /// nothing to keep. Answers about codes and refresh tokens are not kept: a redemption changes them, and resource
    /// servers introspect access tokens.
    /// </summary>
    private static DateTimeOffset? ActiveUntil(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty(Claims.Active, out var active) && active.ValueKind == JsonValueKind.True
                && root.TryGetProperty(Claims.TokenUsage, out var usage) && usage.ValueEquals(TokenTypeHints.AccessToken)
                && root.TryGetProperty(Claims.ExpiresAt, out var exp) && exp.TryGetInt64(out var seconds)
                    ? DateTimeOffset.FromUnixTimeSeconds(seconds)
                    : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public void Dispose() => _answers.Dispose();
}
