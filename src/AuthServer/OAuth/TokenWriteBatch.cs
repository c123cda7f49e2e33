using AuthServer.Data;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace AuthServer.OAuth;

/// <summary>
/// The token rows of one sign-in (one token response, one authorization response) written together: OpenIddict
/// stores each token as it generates it, one write each, marks a presented code or refresh token redeemed in a write
/// of its own, and writes an authorization code twice (the row, then its payload).
/// While a sign-in is being processed <see cref="TokenStore"/> only changes the context, and <see cref="Flush"/>, the
/// last step before the response is built, writes it all in one <c>SaveChanges</c>: one transaction, one trip through
/// the SQLite write gate. A code redemption goes from three writes to one, a code from two to one.
/// The redemption of a code keeps its guard: the row is updated only if its concurrency token is still the one read,
/// so of two requests redeeming the same code at once, one commits and the other's transaction (its redemption and its
/// new tokens) fails as a whole, and it answers what OpenIddict answers a redemption that lost the race
/// (<c>invalid_grant</c>). A code is spent in the same commit that stores what was issued for it: a replay seen after
/// that commit revokes those tokens too, and a write that fails spends nothing (the client may retry; no token of the
/// failed attempt exists).
/// A refresh token is still marked redeemed on its own, first: OpenIddict lets a refresh go on when that write loses a
/// race (rotated refresh tokens have a reuse leeway), so a lost race must not undo the new tokens.
/// Nothing is returned to a client before its rows are written: a sign-in rejected or failing before the flush returns
/// no token, and its rows are dropped with the request's context (one request, one sign-in: nothing else in that
/// request saves the context afterwards).
/// </summary>
internal sealed class TokenWriteBatch(AuthDbContext context)
{
    private int _pending;
    private OpenIddictEntityFrameworkCoreToken? _redeemed;

    /// <summary>Whether new token rows (and the redemption of a presented code) wait for <see cref="FlushAsync"/>.</summary>
    public bool IsOpen { get; private set; }

    public void Open() => IsOpen = true;

    /// <summary>A token row was added to the context and waits for the flush.</summary>
    public void Added() => _pending++;

    /// <summary>The presented code was marked redeemed in the context; the flush writes it.</summary>
    public void Redeemed(OpenIddictEntityFrameworkCoreToken token)
    {
        _redeemed = token;
        _pending++;
    }

    /// <summary>Writes what waits; false when the redemption lost to another request's (nothing was written).</summary>
    public async ValueTask<bool> FlushAsync(CancellationToken cancellationToken)
    {
        IsOpen = false;
        if (_pending == 0)
        {
            return true;
        }

        _pending = 0;
        var redeemed = _redeemed;
        _redeemed = null;
        try
        {
            // A redemption and new rows change no answer the introspection cache remembers (see OAuthChangeSignal).
            using (redeemed is not null && OnlyNewTokensBeside(redeemed) ? OAuthChangeSignal.Redemption() : null)
            {
                await context.SaveChangesAsync(cancellationToken);
            }

            return true;
        }
        catch (DbUpdateConcurrencyException exception)
            when (redeemed is not null && exception.Entries.Any(entry => ReferenceEquals(entry.Entity, redeemed)))
        {
            // The transaction rolled back: none of it stays tracked, so that nothing later writes it.
            foreach (var entry in context.ChangeTracker.Entries().ToList())
            {
                entry.State = entry.State == EntityState.Added ? EntityState.Detached : EntityState.Unchanged;
            }

            return false;
        }
    }

    private bool OnlyNewTokensBeside(OpenIddictEntityFrameworkCoreToken redeemed) =>
        context.ChangeTracker.Entries().All(entry =>
            entry.State == EntityState.Unchanged
            || ReferenceEquals(entry.Entity, redeemed)
            || (entry.State == EntityState.Added && entry.Entity is OpenIddictEntityFrameworkCoreToken));

    /// <summary>Opens the batch before the presented code or refresh token (if any) is redeemed.</summary>
    internal sealed class Begin(TokenWriteBatch batch) : IOpenIddictServerHandler<ProcessSignInContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
            OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
                .UseScopedHandler<Begin>()
                .SetOrder(OpenIddictServerHandlers.RedeemTokenEntry.Descriptor.Order - 500)
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

        public async ValueTask HandleAsync(ProcessSignInContext context)
        {
            if (!await batch.FlushAsync(context.CancellationToken))
            {
                // What OpenIddict's RedeemTokenEntry answers when its redemption of a code loses the race (the token
                // endpoint sends it as invalid_grant).
                context.Reject(
                    error: Errors.InvalidToken,
                    description: OpenIddictResources.GetResourceString(OpenIddictResources.ID2010),
                    uri: OpenIddictResources.FormatID8000(OpenIddictResources.ID2010));
            }
        }
    }
}
