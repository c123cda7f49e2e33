using System.Net;
using System.Net.Http.Headers;

namespace AIPlatform.Sdk;

/// <summary>
/// An answer from the platform API that is not a success, or no answer at all (the subclasses say which). Mirrors the
/// JavaScript SDK's <c>APIError</c>.
/// </summary>
public class AIPlatformException : Exception
{
    public AIPlatformException()
    {
    }

    public AIPlatformException(string message)
        : base(message)
    {
    }

    public AIPlatformException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public AIPlatformException(HttpStatusCode? status, string? type, string message, HttpResponseHeaders? headers, Exception? innerException = null)
        : base(message, innerException)
    {
        Status = status;
        Type = type;
        Headers = headers;
        RequestId = headers is not null && headers.TryGetValues("X-Request-Id", out var values) ? values.FirstOrDefault() : null;
    }

    /// <summary>The HTTP status; none when there was no answer.</summary>
    public HttpStatusCode? Status { get; }

    /// <summary>The error body's <c>type</c> (<c>invalid_token</c>, <c>insufficient_scope</c>, <c>rate_limit_exceeded</c>, ...).</summary>
    public string? Type { get; }

    public HttpResponseHeaders? Headers { get; }

    /// <summary>The server's name for the request (<c>X-Request-Id</c>), to quote to its operator.</summary>
    public string? RequestId { get; }
}

/// <summary>400: the request is malformed.</summary>
public class BadRequestException(HttpStatusCode status, string? type, string message, HttpResponseHeaders headers)
    : AIPlatformException(status, type, message, headers);

/// <summary>401: the key or token is missing, invalid, expired or revoked.</summary>
public class AuthenticationException(HttpStatusCode status, string? type, string message, HttpResponseHeaders headers)
    : AIPlatformException(status, type, message, headers);

/// <summary>403: the credential lacks the scope the endpoint requires.</summary>
public class PermissionDeniedException(HttpStatusCode status, string? type, string message, HttpResponseHeaders headers)
    : AIPlatformException(status, type, message, headers);

/// <summary>404: no such endpoint or resource.</summary>
public class NotFoundException(HttpStatusCode status, string? type, string message, HttpResponseHeaders headers)
    : AIPlatformException(status, type, message, headers);

/// <summary>429: the account's rate limit is spent; <see cref="RetryAfter"/> says for how long.</summary>
public class RateLimitException(HttpStatusCode status, string? type, string message, HttpResponseHeaders headers)
    : AIPlatformException(status, type, message, headers)
{
    /// <summary>From <c>Retry-After</c>; none when the server did not say.</summary>
    public TimeSpan? RetryAfter { get; } = headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
        _ => null,
    };
}

/// <summary>5xx: the server failed (after the retries).</summary>
public class InternalServerException(HttpStatusCode status, string? type, string message, HttpResponseHeaders headers)
    : AIPlatformException(status, type, message, headers);

/// <summary>No answer: the connection failed or was dropped (after the retries).</summary>
public class APIConnectionException(string message, Exception? innerException = null)
    : AIPlatformException(null, null, message, null, innerException);

/// <summary>No answer within <see cref="AIClientOptions.Timeout"/> (after the retries).</summary>
public class APIConnectionTimeoutException(string message, Exception? innerException = null)
    : APIConnectionException(message, innerException);
