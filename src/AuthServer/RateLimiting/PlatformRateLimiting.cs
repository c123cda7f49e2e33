using System.Globalization;
using AuthServer.ApiKeys;
using AuthServer.PlatformApi;
using AuthServer.Usage;
using Microsoft.AspNetCore.Authentication;
using OpenIddict.Abstractions;

namespace AuthServer.RateLimiting;

/// <summary>
/// The gate in front of <c>/v1</c>: charges each authenticated call to its paying account's limit, answers 429 past
/// it, puts <c>X-RateLimit-*</c> on every response of an authenticated call, counts usage, and feeds the activity
/// monitor. A client IP that keeps failing authentication is refused before its credentials are even looked at.
/// A rejected call does no database work: the credential and the payer come from the nodes' caches and the counters
/// from memory or Redis.
/// </summary>
internal sealed class PlatformRateLimiting(
    RequestDelegate next,
    IRateLimitStore limits,
    PayerResolver payers,
    UsageMeter usage,
    SuspiciousActivity activity,
    FailureLimits failureLimits,
    ILogger<PlatformRateLimiting> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var ip = ClientIp(context);
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

        var authentication = await context.AuthenticateAsync(PlatformBearerHandler.SchemeName);
        if (!authentication.Succeeded)
        {
            await next(context);
            if (hasCredential && context.Response.StatusCode == StatusCodes.Status401Unauthorized)
            {
                await failureLimits.RecordAsync(FailureLimits.ApiKey, context, context.RequestAborted);
                var refused = context.Items[PlatformBearerHandler.RefusedKeyItem] as ApiKeyRecord;
                activity.Failure(ip, refused?.Id, refused?.OwnerId, StatusCodes.Status401Unauthorized);
            }

            return;
        }

        Payer? payer;
        try
        {
            payer = await payers.ResolveAsync(authentication.Principal, context.RequestAborted);
        }
        catch (Exception exception) when (ApiKeyAuthenticator.IsDatabaseFailure(exception))
        {
            logger.LogError(exception, "The database could not be reached to find who pays for a call.");
            context.Response.Headers.RetryAfter = "5";
            await PlatformErrors.WriteAsync(
                context, StatusCodes.Status503ServiceUnavailable, PlatformErrors.ServiceUnavailable,
                "Credentials cannot be checked right now; retry shortly.");
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
        headers["X-RateLimit-Limit"] = decision.Limit.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Remaining"] = decision.Remaining.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Reset"] = decision.ResetSeconds.ToString(CultureInfo.InvariantCulture);
        if (!decision.Admitted)
        {
            usage.Count(payer.AccountId, payer.Credential, StatusCodes.Status429TooManyRequests);
            await RejectAsync(
                context, decision,
                $"Rate limit exceeded: the {payer.Tier} tier allows {payer.Limit} requests per minute. Retry after {decision.RetryAfterSeconds} s.");
            return;
        }

        var status = StatusCodes.Status500InternalServerError;
        try
        {
            await next(context);
            status = context.Response.StatusCode;
        }
        finally
        {
            usage.Count(payer.AccountId, payer.Credential, status);
            var keyId = authentication.Principal.GetClaim(PlatformBearerHandler.ApiKeyIdClaim);
            if (status is StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden)
            {
                activity.Failure(ip, keyId, payer.AccountId, status);
            }

            if (keyId is not null)
            {
                activity.KeyUse(keyId, payer.AccountId, ip);
            }
        }
    }

    private static Task RejectAsync(HttpContext context, RateLimitDecision decision, string message)
    {
        context.Response.Headers.RetryAfter = decision.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return PlatformErrors.WriteAsync(context, StatusCodes.Status429TooManyRequests, PlatformErrors.RateLimitExceeded, message);
    }

    internal static string ClientIp(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
}
