using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AuthServer.PlatformApi;

/// <summary>
/// Errors of the platform API: <c>{"error":{"type":..,"message":..,"request_id":..}}</c> with the RFC 6750 <c>WWW-Authenticate</c>
/// header, so both people reading the body and OAuth libraries reading the header understand them.
/// </summary>
internal static class PlatformErrors
{
    public const string InvalidToken = "invalid_token";
    public const string InsufficientScope = "insufficient_scope";
    public const string ServiceUnavailable = "service_unavailable";
    public const string RateLimitExceeded = "rate_limit_exceeded";
    public const string NotFound = "not_found";
    public const string MethodNotAllowed = "method_not_allowed";

    public static Task WriteAsync(
        HttpContext context, int status, string type, string message, IReadOnlyList<string>? scopes = null)
    {
        if (status is StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden)
        {
            // RFC 6750 §3.1: a request that carried no credentials gets a challenge without an error code.
            var challenge = context.Request.Headers.Authorization.Count == 0
                ? "Bearer realm=\"platform\""
                : $"Bearer realm=\"platform\", error=\"{type}\", error_description=\"{message.Replace("\"", "'", StringComparison.Ordinal)}\"";
            if (scopes is { Count: > 0 })
            {
                challenge += $", scope=\"{string.Join(' ', scopes)}\"";
            }

            context.Response.Headers.WWWAuthenticate = challenge;
        }

        context.Response.StatusCode = status;
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsJsonAsync(
            new ErrorEnvelope(new ErrorBody(type, message, context.TraceIdentifier)), PlatformJsonContext.Relaxed.ErrorEnvelope);
    }

    /// <summary>503 with <c>Retry-After</c>: never 401 here, since a client told its key is invalid would throw a good key away.</summary>
    public static Task WriteUnavailableAsync(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "5";
        return WriteAsync(
            context, StatusCodes.Status503ServiceUnavailable, ServiceUnavailable, "Credentials cannot be checked right now; retry shortly.");
    }

    /// <summary>403 <c>insufficient_scope</c>, naming the scopes that would do (RFC 6750 section 3).</summary>
    public static Task WriteForbiddenAsync(HttpContext context, RequiredScopes required) =>
        WriteAsync(
            context, StatusCodes.Status403Forbidden, InsufficientScope,
            $"This endpoint requires one of these scopes: {string.Join(' ', required.AnyOf)}.", required.AnyOf);

    internal sealed record ErrorEnvelope([property: JsonPropertyName("error")] ErrorBody Error);

    internal sealed record ErrorBody(
        [property: JsonPropertyName("type")] string Type,
        [property: JsonPropertyName("message")] string Message,
        [property: JsonPropertyName("request_id")] string RequestId);
}

/// <summary>
/// Scopes a <c>/v1</c> endpoint requires, any one of them being enough; the gate in front of <c>/v1</c> refuses calls
/// without a valid credential (401) or without one of these scopes (403).
/// </summary>
internal sealed record RequiredScopes(IReadOnlyList<string> AnyOf);

[JsonSerializable(typeof(PlatformErrors.ErrorEnvelope))]
[JsonSerializable(typeof(ModelListResponse))]
[JsonSerializable(typeof(UserProfile))]
internal sealed partial class PlatformJsonContext : JsonSerializerContext
{
    /// <summary>
    /// Writes <c>'</c>, <c>&lt;</c>, <c>&gt;</c>, <c>&amp;</c> and non-ASCII text as they are, not as <c>\u0027</c> and the like:
    /// the answers are <c>application/json</c> with <c>nosniff</c>, never embedded in HTML, so the escapes only hurt the
    /// people reading them.
    /// </summary>
    public static PlatformJsonContext Relaxed { get; } = new(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
