using System.Text.Json.Serialization;

namespace AuthServer.Core;

/// <summary>An OAuth 2.0 error body (RFC 6749 §5.2, RFC 7591 §3.2.2): the shape of <c>/oauth</c> and <c>/admin</c> errors,
/// with the request's id (as in <c>X-Request-Id</c>) for a caller to quote to an operator.</summary>
internal sealed record OAuthError(
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("error_description")] string ErrorDescription,
    [property: JsonPropertyName("request_id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? RequestId = null);

/// <summary>
/// Writes the errors of <c>/oauth</c> and <c>/admin</c> that OpenIddict does not write itself: an
/// <see cref="OAuthError"/> body, never cached, and on 401 and 403 the RFC 6750 §3 <c>WWW-Authenticate</c> header
/// (without an error code when the request carried no credentials at all, as §3.1 asks).
/// </summary>
internal static class OAuthErrors
{
    public const string InvalidRequest = "invalid_request";
    public const string InvalidToken = "invalid_token";
    public const string InsufficientScope = "insufficient_scope";
    public const string TemporarilyUnavailable = "temporarily_unavailable";
    public const string RateLimitExceeded = "rate_limit_exceeded";

    public static Task WriteAsync(HttpContext context, int status, string error, string description, string? scope = null)
    {
        if (status is StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden)
        {
            context.Response.Headers.WWWAuthenticate = Challenge(context, error, description, scope);
        }

        context.Response.StatusCode = status;
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsJsonAsync(new OAuthError(error, description, context.TraceIdentifier));
    }

    /// <summary>503 with <c>Retry-After</c>: the server could not do its part; the client should retry, not give up.</summary>
    public static Task WriteUnavailableAsync(HttpContext context, string description)
    {
        context.Response.Headers.RetryAfter = "5";
        return WriteAsync(context, StatusCodes.Status503ServiceUnavailable, TemporarilyUnavailable, description);
    }

    /// <summary>The RFC 6750 §3 challenge; shared with the platform API's own error writer.</summary>
    public static string Challenge(HttpContext context, string error, string description, string? scope)
    {
        if (error == InvalidToken && context.Request.Headers.Authorization.Count == 0)
        {
            return "Bearer realm=\"AuthServer\"";
        }

        var challenge = $"Bearer realm=\"AuthServer\", error=\"{error}\", error_description=\"{description.Replace("\"", "'", StringComparison.Ordinal)}\"";
        return scope is null ? challenge : challenge + $", scope=\"{scope}\"";
    }
}
