using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AuthServer.Hosting;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.OAuth;

/// <summary>
/// Remembers OpenIddict's <c>"active": true</c> introspection answers about access tokens, by client and token, for
/// <see cref="OAuthOptions.IntrospectionCacheDuration"/> (never past the token's <c>exp</c>). A resource server that
/// introspects the same bearer token on every call it receives then costs a memory lookup, not a token validation
/// and database read. The caller still authenticates on every request: a remembered answer is given only to the
/// client it was given to, presenting the same secret (compared as SHA-256, in constant time).
/// Every change to a token, authorization or client row (a revocation, a rotated secret) that goes through this node's
/// database connections drops every remembered answer once it is committed (<see cref="OAuthChangeSignal"/>), so
/// revocation stays immediate on the node; changes made by another node are seen within the duration. A code or
/// refresh-token redemption drops nothing: only the redeemed token's own answer changes, and that is never kept.
/// </summary>
internal sealed class IntrospectionCache(IOptions<OAuthOptions> options, TimeProvider clock) : IDisposable
{
    private static readonly string[] ReplayedHeaders = ["Pragma", "Expires"];

    private readonly MemoryCache _answers = new(new MemoryCacheOptions { SizeLimit = 10_000 });
    private long _generation;

    private sealed record Answer(byte[] Body, string? ContentType, KeyValuePair<string, StringValues>[] Headers, byte[] SecretHash, long Generation);

    /// <summary>Forgets every remembered answer: something an answer may depend on has changed.</summary>
    public void Invalidate() => Interlocked.Increment(ref _generation);

    public static IApplicationBuilder Use(IApplicationBuilder app) =>
        app.UseWhen(
            context => HttpMethods.IsPost(context.Request.Method)
                && context.Request.Path.Equals(OAuthServerExtensions.IntrospectionPath, StringComparison.OrdinalIgnoreCase)
                && context.Request.HasFormContentType,
            branch => branch.Use((context, next) =>
                context.RequestServices.GetRequiredService<IntrospectionCache>().InvokeAsync(context, next)));

    private async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var duration = options.Value.IntrospectionCacheDuration;
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
        var generation = Interlocked.Read(ref _generation);
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
    /// nothing to keep. Answers about codes and refresh tokens are not kept: a redemption changes them without
    /// signalling a change (<see cref="OAuthChangeSignal.Redemption"/>), and resource servers introspect access tokens.
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

/// <summary>
/// Tells the <see cref="IntrospectionCache"/> when a token, authorization or client row changed: any UPDATE or DELETE
/// on OpenIddict's tables, from SaveChanges or a bulk ExecuteUpdate alike. It signals after the statement ran and
/// again when its transaction commits, so an answer read before the commit is never kept past it.
/// </summary>
internal sealed class OAuthChangeSignal(IntrospectionCache cache) : DbCommandInterceptor, ITransactionEndInterceptor
{
    private static readonly AsyncLocal<bool> Redeeming = new();

    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, bool> _pending = new();

    /// <summary>
    /// While the returned scope is open, this flow's statements are a token's redemption and nothing else (the token
    /// store checks that): no remembered answer depends on them, so they drop none. Every code and refresh-token
    /// redemption would otherwise empty the cache.
    /// </summary>
    public static IDisposable Redemption()
    {
        Redeeming.Value = true;
        return new RedemptionScope();
    }

    private sealed class RedemptionScope : IDisposable
    {
        public void Dispose() => Redeeming.Value = false;
    }

    private static bool Changes(DbCommand command)
    {
        var text = command.CommandText;
        return text.Contains("OpenIddict", StringComparison.Ordinal)
            && (text.Contains("UPDATE ", StringComparison.OrdinalIgnoreCase) || text.Contains("DELETE ", StringComparison.OrdinalIgnoreCase));
    }

    private void Ran(DbCommand command, Guid connectionId)
    {
        if (Redeeming.Value || !Changes(command))
        {
            return;
        }

        cache.Invalidate();
        if (command.Transaction is not null)
        {
            _pending[connectionId] = true;
        }
    }

    public override int NonQueryExecuted(DbCommand command, CommandExecutedEventData eventData, int result)
    {
        Ran(command, eventData.ConnectionId);
        return result;
    }

    public override ValueTask<int> NonQueryExecutedAsync(
        DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        Ran(command, eventData.ConnectionId);
        return ValueTask.FromResult(result);
    }

    // SaveChanges runs its UPDATE … RETURNING as a reader; the statement is complete when the reader is disposed.
    public override InterceptionResult DataReaderDisposing(DbCommand command, DataReaderDisposingEventData eventData, InterceptionResult result)
    {
        Ran(command, eventData.ConnectionId);
        return result;
    }

    public void TransactionEnded(Guid connectionId, bool mayHaveCommitted)
    {
        if (_pending.TryRemove(connectionId, out _) && mayHaveCommitted)
        {
            cache.Invalidate();
        }
    }
}
