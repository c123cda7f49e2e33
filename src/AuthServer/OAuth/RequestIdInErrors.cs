using Microsoft.AspNetCore;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace AuthServer.OAuth;

/// <summary>
/// Adds the request's id (<c>request_id</c>, as in the <c>X-Request-Id</c> header) to the JSON errors OpenIddict
/// writes, as our own error writers do, so that any error a client reads names the request for an operator.
/// </summary>
internal static class RequestIdInErrors
{
    /// <summary>The JSON answers: token, introspection, revocation, userinfo (not the redirects of authorize and end-session).</summary>
    public static IEnumerable<OpenIddictServerHandlerDescriptor> Descriptors =>
    [
        Describe<ApplyTokenResponseContext>(),
        Describe<ApplyIntrospectionResponseContext>(),
        Describe<ApplyRevocationResponseContext>(),
        Describe<ApplyUserInfoResponseContext>(),
    ];

    private static OpenIddictServerHandlerDescriptor Describe<TContext>()
        where TContext : BaseRequestContext =>
        OpenIddictServerHandlerDescriptor.CreateBuilder<TContext>()
            .UseSingletonHandler<Handler<TContext>>()
            .SetOrder(int.MinValue + 100_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    private sealed class Handler<TContext> : IOpenIddictServerHandler<TContext>
        where TContext : BaseRequestContext
    {
        public ValueTask HandleAsync(TContext context)
        {
            ArgumentNullException.ThrowIfNull(context);
            if (context.Transaction.Response is { Error.Length: > 0 } response
                && context.Transaction.GetHttpRequest()?.HttpContext is { } http)
            {
                response["request_id"] = http.TraceIdentifier;
            }

            return ValueTask.CompletedTask;
        }
    }
}
