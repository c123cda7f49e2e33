using AuthServer.Data;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace AuthServer.OAuth.Acceleration;

/// <summary>
/// Writes the token rows of one sign-in (OpenIddict writes each token as it makes it, a code twice) in one transaction,
/// at <see cref="Flush"/>, the last step before the response: nothing reaches a client before its rows are written.
/// A presented code is redeemed in that same transaction by the conditional write of <see cref="TokenRedemption"/>,
/// so of two redemptions of one code exactly one commits, and a write that fails spends nothing. A refresh token is
/// redeemed on its own, first (<see cref="OAuth.TokenManager"/>), so that the reuse leeway still applies.
/// </summary>
internal sealed class TokenWriteBatch(AuthDbContext context, TimeProvider clock)
{
    private int _pending;
    private OpenIddictEntityFrameworkCoreToken? _redeemed;

    /// <summary>Whether new token rows (and the redemption of a presented code) wait for <see cref="FlushAsync"/>.</summary>
    public bool IsOpen { get; private set; }

    public void Open() => IsOpen = true;

    /// <summary>A token row was added to the context and waits for the flush.</summary>
    public void Added() => _pending++;

    /// <summary>The presented code is to be redeemed by the flush, with the tokens issued for it.</summary>
    public void Redeem(OpenIddictEntityFrameworkCoreToken token) => _redeemed = token;

    /// <summary>
    /// Writes what waits. Returns the presented code when its redemption lost (to another request, or to a revocation
    /// of its grant): then nothing was written.
    /// </summary>
    public async ValueTask<OpenIddictEntityFrameworkCoreToken?> FlushAsync(CancellationToken cancellationToken)
    {
        IsOpen = false;
        var redeemed = _redeemed;
        if (_pending == 0 && redeemed is null)
        {
            return null;
        }

        _pending = 0;
        _redeemed = null;
        var lost = false;

        // Note: SQL Server's retrying execution strategy runs a user transaction only as one retriable unit.
        await context.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken);
            if (redeemed is not null && !await TokenRedemption.TryAsync(context, redeemed, clock.GetUtcNow(), cancellationToken))
            {
                await transaction.RollbackAsync(cancellationToken);
                lost = true;
                return;
            }

            await context.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        });

        if (!lost)
        {
            return null;
        }

        // None of it stays tracked, so that nothing later writes it.
        foreach (var entry in context.ChangeTracker.Entries().ToList())
        {
            entry.State = entry.State == EntityState.Added ? EntityState.Detached : EntityState.Unchanged;
        }

        return redeemed;
    }

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
    internal sealed class Flush(TokenWriteBatch batch, IOpenIddictTokenManager tokens, TokenFamilies families) : IOpenIddictServerHandler<ProcessSignInContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
            OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
                .UseScopedHandler<Flush>()
                .SetOrder(OpenIddictServerHandlers.AttachSignInParameters.Descriptor.Order - 500)
                .SetType(OpenIddictServerHandlerType.Custom)
                .Build();

        public async ValueTask HandleAsync(ProcessSignInContext context)
        {
            if (await batch.FlushAsync(context.CancellationToken) is { } lost)
            {
                // A code whose redemption lost counts as a replay: its grant ends.
                await families.RevokeAsync(await tokens.GetAuthorizationIdAsync(lost, context.CancellationToken), context.CancellationToken);
                Replay.Reject(context, null);
            }
        }
    }
}
