using System.Globalization;
using AuthServer.Core;
using AuthServer.RateLimiting;
using AuthServer.Usage;

namespace AuthServer.PlatformApi;

/// <summary>
/// The gate in front of <c>/v1</c>, and the whole of its security: the bearer credential (401, or 503 when its store
/// is down), the paying account's rate limit (429 and <c>X-RateLimit-*</c>), the endpoint's scopes (403), usage and the
/// activity monitor. It stands in for ASP.NET Core's authentication and authorization middleware on this hot path,
/// and a rejected call does no database work (caches and counters only).
/// </summary>
internal sealed class PlatformGate(
    RequestDelegate next,
    PlatformCredentials credentials,
    IRateLimitStore limits,
    PayerResolver payers,
    UsageMeter usage,
    SuspiciousActivity activity,
    FailureLimits failureLimits,
    ServerMetrics metrics,
    ILogger<PlatformGate> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var required = context.GetEndpoint()?.Metadata.GetMetadata<RequiredScopes>();
        var hasCredential = !string.IsNullOrEmpty(context.Request.Headers.Authorization);
        if (hasCredential)
        {
            var gate = await failureLimits.CheckAsync(FailureLimits.ApiKey, context, context.RequestAborted);
            if (!gate.Admitted)
            {
                await RejectAsync(context, gate, "Too many failed authentications from this address; retry later.");
                return;
            }
        }

        var authentication = await credentials.AuthenticateAsync(context.Request, context.RequestAborted);
        if (authentication.Caller is not { } caller)
        {
            await RefuseAsync(context, authentication, required, hasCredential);
            return;
        }

        Payer? payer;
        try
        {
            payer = await PayerOfAsync(caller, context.RequestAborted);
        }
        catch (Exception exception) when (DatabaseFailures.IsDatabaseFailure(exception))
        {
            logger.LogError(exception, "The database could not be reached to find who pays for a call.");
            await PlatformErrors.WriteUnavailableAsync(context);
            return;
        }

        if (payer is null)
        {
            await PlatformErrors.WriteAsync(
                context, StatusCodes.Status401Unauthorized, PlatformErrors.InvalidToken, "The account behind this credential no longer exists.");
            return;
        }

        var decision = await limits.AcquireAsync(payer.LimitKey, payer.Limit, 1, context.RequestAborted);
        var headers = context.Response.Headers;
        headers["X-RateLimit-Limit"] = payer.LimitText;
        headers["X-RateLimit-Remaining"] = decision.Remaining.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Reset"] = decision.ResetSeconds.ToString(CultureInfo.InvariantCulture);
        if (!decision.Admitted)
        {
            usage.Count(payer.AccountId, payer.Credential, StatusCodes.Status429TooManyRequests);
            metrics.RateLimited(payer.Tier);
            await RejectAsync(
                context, decision,
                $"Rate limit exceeded: the {payer.Tier} tier allows {payer.Limit} requests per minute. Retry after {decision.RetryAfterSeconds} s.");
            return;
        }

        var status = StatusCodes.Status500InternalServerError;
        try
        {
            if (required is not null && !caller.HasAnyScope(required.AnyOf))
            {
                await PlatformErrors.WriteForbiddenAsync(context, required);
            }
            else
            {
                context.User = caller.Principal;
                context.Features.Set(caller);
                await NextAsync(context);
            }

            status = context.Response.StatusCode;
        }
        finally
        {
            usage.Count(payer.AccountId, payer.Credential, status);
            if (status is StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden)
            {
                await activity.FailureAsync(ClientAddress.Of(context), caller.KeyId, payer.AccountId, status);
            }

            if (caller.KeyId is { } keyId)
            {
                await activity.KeyUseAsync(keyId, payer.AccountId, ClientAddress.Of(context));
            }
        }
    }

    /// <summary>
    /// The caller's payer: kept on the caller (one is shared by every call made with the same credential), so a repeat
    /// call costs two field reads, until it expires or the resolver forgets something.
    /// </summary>
    private async ValueTask<Payer?> PayerOfAsync(PlatformCaller caller, CancellationToken cancellationToken)
    {
        if (caller.Payer is { } seen && seen.Generation == payers.Generation && Environment.TickCount64 < seen.ExpiresAt)
        {
            return seen.Payer;
        }

        // Read before resolving: an invalidation racing with this resolution leaves what it resolved already stale.
        var generation = payers.Generation;
        var (payer, expiresAt) = await payers.ResolveAsync(caller.Lookup, cancellationToken);
        if (payer is not null && payers.Remembers)
        {
            caller.Payer = new PayerSeen(payer, generation, expiresAt);
        }

        return payer;
    }

    /// <summary>
    /// A call without a valid credential: a protected endpoint answers 401 (503 when the store is down); anything
    /// else (a path that matches no endpoint) goes on, so it gets its 404. A failed credential counts against the
    /// client IP's failure limit.
    /// </summary>
    private async Task RefuseAsync(HttpContext context, PlatformAuthResult authentication, RequiredScopes? required, bool hasCredential)
    {
        if (required is null)
        {
            await NextAsync(context);
        }
        else if (authentication.Failure == PlatformAuthFailure.Unavailable)
        {
            await PlatformErrors.WriteUnavailableAsync(context);
        }
        else
        {
            await PlatformErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, PlatformErrors.InvalidToken, authentication.Message!);
        }

        if (hasCredential && context.Response.StatusCode == StatusCodes.Status401Unauthorized)
        {
            await failureLimits.RecordAsync(FailureLimits.ApiKey, context, context.RequestAborted);
            await activity.FailureAsync(ClientAddress.Of(context), authentication.RefusedKey?.Id, authentication.RefusedKey?.OwnerId, StatusCodes.Status401Unauthorized);
        }
    }

    /// <summary>The endpoint; a method the path does not take gets routing's bare 405, given the API's error shape here.</summary>
    private async Task NextAsync(HttpContext context)
    {
        await next(context);
        if (context.Response.StatusCode == StatusCodes.Status405MethodNotAllowed && !context.Response.HasStarted)
        {
            await PlatformErrors.WriteAsync(
                context, StatusCodes.Status405MethodNotAllowed, PlatformErrors.MethodNotAllowed,
                $"{context.Request.Path} does not take {context.Request.Method}.");
        }
    }

    private static Task RejectAsync(HttpContext context, RateLimitDecision decision, string message)
    {
        context.Response.Headers.RetryAfter = decision.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return PlatformErrors.WriteAsync(context, StatusCodes.Status429TooManyRequests, PlatformErrors.RateLimitExceeded, message);
    }

}
