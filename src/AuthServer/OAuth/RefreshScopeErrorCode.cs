using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace AuthServer.OAuth;

/// <summary>
/// Answers a token request asking for more scope than was granted with <c>invalid_scope</c>, as RFC 6749 §5.2 says
/// ("exceeds the scope granted by the resource owner"); OpenIddict answers it with <c>invalid_grant</c>.
/// </summary>
/// <remarks>
/// Note: OpenIddict reports this case as error ID2052 on the <c>scope</c> parameter; only that exact pair is
/// rewritten, every other error passes through untouched.
/// </remarks>
internal sealed class RefreshScopeErrorCode : IOpenIddictServerHandler<ApplyTokenResponseContext>
{
    private const string ScopeNotGrantedErrorUri = "https://documentation.openiddict.com/errors/ID2052";

    public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyTokenResponseContext>()
            .UseSingletonHandler<RefreshScopeErrorCode>()
            .SetOrder(int.MinValue + 50_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public ValueTask HandleAsync(ApplyTokenResponseContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        if (context.Response.Error == Errors.InvalidGrant
            && context.Response.ErrorUri == ScopeNotGrantedErrorUri
            && context.Response.ErrorDescription?.Contains($"'{Parameters.Scope}'", StringComparison.Ordinal) == true)
        {
            context.Response.Error = Errors.InvalidScope;
            context.Response.ErrorDescription = "The requested scope exceeds the scope originally granted.";
        }

        return default;
    }
}
