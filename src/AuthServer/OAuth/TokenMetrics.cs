using AuthServer.Core;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace AuthServer.OAuth;

/// <summary>Counts what the token endpoint answers: tokens issued by grant type, errors by code.</summary>
internal sealed class TokenMetrics(ServerMetrics metrics) : IOpenIddictServerHandler<ApplyTokenResponseContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyTokenResponseContext>()
            .UseSingletonHandler<TokenMetrics>()
            .SetOrder(int.MinValue + 100_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public ValueTask HandleAsync(ApplyTokenResponseContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Response.Error is { Length: > 0 } error)
        {
            metrics.TokenRequestFailed(error);
        }
        else if (context.Response.AccessToken is not null)
        {
            metrics.TokenIssued(context.Request?.GrantType ?? "unknown");
        }

        return ValueTask.CompletedTask;
    }
}
