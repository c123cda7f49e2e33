using AuthServer.Data;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace AuthServer.OAuth;

/// <summary>
/// The token rows of one sign-in (one token response, one authorization response) written together: OpenIddict
/// stores each token as it generates it, one write each, and an authorization code twice (the row, then its payload).
/// While a sign-in is being processed <see cref="TokenStore"/> only adds its rows to the context, and
/// <see cref="Flush"/>, the last step before the response is built, writes them in one <c>SaveChanges</c>: one
/// transaction, one trip through the SQLite write gate. A code redemption goes from three writes to two (the code is
/// marked redeemed first, on its own, as replay detection needs), a code from two to one.
/// Nothing is returned to a client before its rows are written: a sign-in rejected or failing before the flush returns
/// no token, and its rows are dropped with the request's context (one request, one sign-in: nothing else in that
/// request saves the context afterwards).
/// </summary>
internal sealed class TokenWriteBatch(AuthDbContext context)
{
    private int _pending;

    /// <summary>Whether new token rows wait for <see cref="FlushAsync"/>.</summary>
    public bool IsOpen { get; private set; }

    public void Open() => IsOpen = true;

    /// <summary>A token row was added to the context and waits for the flush.</summary>
    public void Added() => _pending++;

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        IsOpen = false;
        if (_pending > 0)
        {
            _pending = 0;
            await context.SaveChangesAsync(cancellationToken);
        }
    }

    /// <summary>Opens the batch once the presented code or refresh token (if any) has been redeemed on its own.</summary>
    internal sealed class Begin(TokenWriteBatch batch) : IOpenIddictServerHandler<ProcessSignInContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
            OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
                .UseScopedHandler<Begin>()
                .SetOrder(OpenIddictServerHandlers.RedeemTokenEntry.Descriptor.Order + 500)
                .SetType(OpenIddictServerHandlerType.Custom)
                .Build();

        public ValueTask HandleAsync(ProcessSignInContext context)
        {
            batch.Open();
            return default;
        }
    }

    /// <summary>Writes the batch after the last token is generated, before the response carrying them is built.</summary>
    internal sealed class Flush(TokenWriteBatch batch) : IOpenIddictServerHandler<ProcessSignInContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
            OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
                .UseScopedHandler<Flush>()
                .SetOrder(OpenIddictServerHandlers.AttachSignInParameters.Descriptor.Order - 500)
                .SetType(OpenIddictServerHandlerType.Custom)
                .Build();

        public ValueTask HandleAsync(ProcessSignInContext context) =>
            batch.FlushAsync(context.CancellationToken);
    }
}
