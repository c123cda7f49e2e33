using Microsoft.AspNetCore;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace AuthServer.OAuth;

/// <summary>
/// A failed client authentication at the token, introspection or revocation endpoint gets one answer, whatever went
/// wrong (an unknown client, a wrong secret, a client not allowed there): the description must not tell an attacker
/// which client_ids exist. The failure is also marked on the request, for the per-address failure limit.
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
        if (context.Transaction.Response is { Error: Errors.InvalidClient } response)
        {
            response.ErrorDescription = Description;
            response.ErrorUri = null;
            if (context.Transaction.GetHttpRequest() is { } request)
            {
                Mark(request.HttpContext);
            }
        }

        return default;
    }
}
