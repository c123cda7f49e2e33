using System.Globalization;
using AuthServer.Core;
using AuthServer.RateLimiting;
using Microsoft.AspNetCore;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace AuthServer.OAuth;

/// <summary>
/// A failed client authentication at the token, introspection or revocation endpoint gets one answer, whatever went
/// wrong (an unknown client, a wrong secret, a client not allowed there): the description must not tell an attacker
/// which client_ids exist. The failure, and any error to a request that names no client, is also marked on the
/// request, for the per-address failure limit.
/// </summary>
internal sealed class ClientAuthenticationFailures :
    IOpenIddictServerHandler<ApplyTokenResponseContext>,
    IOpenIddictServerHandler<ApplyIntrospectionResponseContext>,
    IOpenIddictServerHandler<ApplyRevocationResponseContext>
{
    /// <summary>The one description of a failed client authentication.</summary>
    public const string Description = "Client authentication failed.";

    /// <summary>The <see cref="HttpContext.Items"/> key set when a request's client authentication failed.</summary>
    public static readonly object FailedItem = new();

    public static IEnumerable<OpenIddictServerHandlerDescriptor> Descriptors { get; } =
    [
        OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyTokenResponseContext>()
            .UseSingletonHandler<ClientAuthenticationFailures>().SetOrder(Order).SetType(OpenIddictServerHandlerType.Custom).Build(),
        OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyIntrospectionResponseContext>()
            .UseSingletonHandler<ClientAuthenticationFailures>().SetOrder(Order).SetType(OpenIddictServerHandlerType.Custom).Build(),
        OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyRevocationResponseContext>()
            .UseSingletonHandler<ClientAuthenticationFailures>().SetOrder(Order).SetType(OpenIddictServerHandlerType.Custom).Build(),
    ];

    // Early, before the response is written.
    private const int Order = int.MinValue + 50_000;

    /// <summary>Marks the request as one whose client failed to authenticate (for answers given outside OpenIddict).</summary>
    public static void Mark(HttpContext context) => context.Items[FailedItem] = true;

    public static bool Failed(HttpContext context) => context.Items.ContainsKey(FailedItem);

    public ValueTask HandleAsync(ApplyTokenResponseContext context) => Handle(context);

    public ValueTask HandleAsync(ApplyIntrospectionResponseContext context) => Handle(context);

    public ValueTask HandleAsync(ApplyRevocationResponseContext context) => Handle(context);

    private static ValueTask Handle(BaseRequestContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Transaction.Response is not { Error: { } error } response)
        {
            return default;
        }

        if (error == Errors.InvalidClient)
        {
            response.ErrorDescription = Description;
            response.ErrorUri = null;
        }

        // A failed authentication, or an error to a request that names no client at all (OpenIddict reads the
        // client_id of a Basic header into the request too).
        if ((error == Errors.InvalidClient || string.IsNullOrEmpty(context.Transaction.Request?.ClientId))
            && context.Transaction.GetHttpRequest() is { } request)
        {
            Mark(request.HttpContext);
        }

        return default;
    }

    /// <summary>
    /// Refuses the token, introspection and revocation endpoints to a client IP whose clients failed to authenticate
    /// too often (<see cref="RateLimiting.RateLimitOptions.TokenFailuresPerMinute"/>). Only failed client
    /// authentication counts (an unknown client, a wrong secret): an authenticated client's <c>invalid_grant</c> (a
    /// double-submitted code, a lost refresh race) never locks out the other clients behind the same address. Goes
    /// before authentication: OpenIddict answers inside the authentication middleware.
    /// </summary>
    public static IApplicationBuilder UseClientAuthenticationLimits(IApplicationBuilder app) =>
        app.UseWhen(
            context => HttpMethods.IsPost(context.Request.Method) && IsClientAuthenticated(context.Request.Path),
            branch => branch.Use(async (context, next) =>
            {
                var limits = context.RequestServices.GetRequiredService<FailureLimits>();
                var gate = await limits.CheckAsync(FailureLimits.Token, context, context.RequestAborted);
                if (!gate.Admitted)
                {
                    context.Response.Headers.RetryAfter = gate.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                    await OAuthErrors.WriteAsync(context, StatusCodes.Status429TooManyRequests, OAuthErrors.RateLimitExceeded,
                        "Too many failed client authentications from this address; retry later.");
                    return;
                }

                await next(context);
                if (Failed(context))
                {
                    await limits.RecordAsync(FailureLimits.Token, context, context.RequestAborted);
                }
            }));

    private static bool IsClientAuthenticated(PathString path) =>
        path.Equals(Routes.Token, StringComparison.OrdinalIgnoreCase)
        || path.Equals(Routes.Introspect, StringComparison.OrdinalIgnoreCase)
        || path.Equals(Routes.Revoke, StringComparison.OrdinalIgnoreCase);
}
