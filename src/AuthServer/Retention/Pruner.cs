using System.Linq.Expressions;
using System.Text.Json.Serialization;
using AuthServer.Data;
using AuthServer.OAuth.Keys;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenIddict.EntityFrameworkCore.Models;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.Retention;

/// <summary>What one pruning pass removed, by kind.</summary>
public sealed record PruneResult(
    [property: JsonPropertyName("tokens")] long Tokens,
    [property: JsonPropertyName("authorizations")] long Authorizations,
    [property: JsonPropertyName("usage")] long Usage,
    [property: JsonPropertyName("audit")] long Audit,
    [property: JsonPropertyName("keys")] long Keys,
    [property: JsonPropertyName("emails")] long Emails)
{
    [JsonIgnore]
    public long Total => Tokens + Authorizations + Usage + Audit + Keys + Emails;
}

/// <summary>
/// Removes what no longer serves, in batches of <see cref="RetentionOptions.BatchSize"/> rows, each its own short
/// statement, so that token issuance and redemption never wait behind a long delete:
/// tokens expired, revoked or orphaned (their grant revoked) for longer than <see cref="RetentionOptions.Tokens"/>,
/// and redeemed ones once they have expired too (until then a replayed refresh token is still recognized and revokes
/// its family); authorizations revoked, or ad hoc with no token left, for as long; usage rows and audit events past
/// their retention; signing or encryption keys that left the JWKS (<see cref="ServerKeyLifecycle"/>); and emails
/// sent or given up longer than <see cref="RetentionOptions.Email"/> ago.
/// </summary>
internal sealed class Pruner(AuthDbContext context, IOptions<RetentionOptions> options, ServerKeyStore keys, TimeProvider clock)
{
    private static readonly TimeSpan PauseBetweenBatches = TimeSpan.FromMilliseconds(20);

    public async Task<PruneResult> PruneAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = clock.GetUtcNow();
        var (tokens, authorizations) = await PruneTokensAsync(now.UtcDateTime, (now - settings.Tokens).UtcDateTime, cancellationToken);
        var usage = await PruneUsageAsync((now - settings.Usage).ToUnixTimeSeconds() / 60, cancellationToken);
        var audit = await PruneAuditAsync(now - settings.Audit, cancellationToken);
        var removedKeys = await keys.DeleteRemovedAsync(cancellationToken);
        var emailsBefore = (now - settings.Email).ToUnixTimeMilliseconds();
        var emails = await DeleteInBatchesAsync(
            context.OutboxMessages, message => message.SentAt < emailsBefore || message.GaveUpAt < emailsBefore,
            message => message.Id, batch => message => batch.Contains(message.Id), cancellationToken);
        return new PruneResult(tokens, authorizations, usage, audit, removedKeys, emails);
    }

    private async Task<(long Tokens, long Authorizations)> PruneTokensAsync(DateTime now, DateTime threshold, CancellationToken cancellationToken)
    {
        var tokens = context.Set<OpenIddictEntityFrameworkCoreToken>();
        var authorizations = context.Set<OpenIddictEntityFrameworkCoreAuthorization>();

        Expression<Func<OpenIddictEntityFrameworkCoreToken, bool>> tokenGone = token =>
            token.ExpirationDate < threshold
            || (token.CreationDate < threshold
                && ((token.Status != Statuses.Valid && token.Status != Statuses.Inactive && token.Status != Statuses.Redeemed)
                    || (token.Status == Statuses.Redeemed && token.ExpirationDate < now)
                    || (token.Authorization != null && token.Authorization.Status != Statuses.Valid)));
        var removedTokens = await DeleteInBatchesAsync(
            tokens, tokenGone, token => token.Id!, batch => token => batch.Contains(token.Id!), cancellationToken);

        long removedAuthorizations = 0;
        while (true)
        {
            var batch = await authorizations
                .Where(authorization => authorization.CreationDate < threshold
                    && (authorization.Status != Statuses.Valid
                        || (authorization.Type == AuthorizationTypes.AdHoc && !authorization.Tokens.Any())))
                .Select(authorization => authorization.Id!)
                .Take(options.Value.BatchSize)
                .ToListAsync(cancellationToken);
            if (batch.Count == 0)
            {
                break;
            }

            // A revoked authorization's tokens are revoked with it; they go first, since they reference it.
            removedTokens += await tokens.Where(token => batch.Contains(token.Authorization!.Id!)).ExecuteDeleteAsync(cancellationToken);
            removedAuthorizations += await authorizations.Where(authorization => batch.Contains(authorization.Id!)).ExecuteDeleteAsync(cancellationToken);
            if (batch.Count < options.Value.BatchSize)
            {
                break;
            }

            await Task.Delay(PauseBetweenBatches, clock, cancellationToken);
        }

        return (removedTokens, removedAuthorizations);
    }

    private Task<long> PruneUsageAsync(long beforeMinute, CancellationToken cancellationToken) =>
        DeleteInBatchesAsync(
            context.UsageRecords, usage => usage.Minute < beforeMinute, usage => usage.Id, batch => usage => batch.Contains(usage.Id), cancellationToken);

    /// <summary>Audit events go oldest first by id (ids follow time), so no date comparison is asked of the database.</summary>
    private async Task<long> PruneAuditAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        long removed = 0;
        while (true)
        {
            var oldest = await context.AuditEvents.OrderBy(audit => audit.Id)
                .Select(audit => new { audit.Id, audit.At })
                .Take(options.Value.BatchSize)
                .ToListAsync(cancellationToken);
            var expired = oldest.TakeWhile(audit => audit.At < before).Select(audit => audit.Id).ToList();
            if (expired.Count == 0)
            {
                return removed;
            }

            removed += await context.AuditEvents.Where(audit => expired.Contains(audit.Id)).ExecuteDeleteAsync(cancellationToken);
            if (expired.Count < oldest.Count || oldest.Count < options.Value.BatchSize)
            {
                return removed;
            }

            await Task.Delay(PauseBetweenBatches, clock, cancellationToken);
        }
    }

    private async Task<long> DeleteInBatchesAsync<TEntity, TKey>(
        DbSet<TEntity> set,
        Expression<Func<TEntity, bool>> gone,
        Expression<Func<TEntity, TKey>> key,
        Func<List<TKey>, Expression<Func<TEntity, bool>>> inBatch,
        CancellationToken cancellationToken)
        where TEntity : class
    {
        long removed = 0;
        while (true)
        {
            var batch = await set.Where(gone).Select(key).Take(options.Value.BatchSize).ToListAsync(cancellationToken);
            if (batch.Count == 0)
            {
                return removed;
            }

            // The condition is asked again: a row is only removed if it still qualifies.
            removed += await set.Where(gone).Where(inBatch(batch)).ExecuteDeleteAsync(cancellationToken);
            if (batch.Count < options.Value.BatchSize)
            {
                return removed;
            }

            await Task.Delay(PauseBetweenBatches, clock, cancellationToken);
        }
    }
}
