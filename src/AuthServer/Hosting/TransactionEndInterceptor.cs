using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace AuthServer.Hosting;

/// <summary>
/// The end of a transaction as one call, however it ends: EF Core's sync and async hooks for a commit, a rollback and
/// a failure all lead to <see cref="TransactionEnded"/>.
/// </summary>
internal interface ITransactionEndInterceptor : IDbTransactionInterceptor
{
    /// <param name="connectionId">The connection the transaction ran on.</param>
    /// <param name="mayHaveCommitted">Committed, or failed in a way that may have committed it (a failed commit).</param>
    void TransactionEnded(Guid connectionId, bool mayHaveCommitted);

    void IDbTransactionInterceptor.TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) =>
        TransactionEnded(eventData.ConnectionId, mayHaveCommitted: true);

    Task IDbTransactionInterceptor.TransactionCommittedAsync(
        DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken)
    {
        TransactionEnded(eventData.ConnectionId, mayHaveCommitted: true);
        return Task.CompletedTask;
    }

    void IDbTransactionInterceptor.TransactionRolledBack(DbTransaction transaction, TransactionEndEventData eventData) =>
        TransactionEnded(eventData.ConnectionId, mayHaveCommitted: false);

    Task IDbTransactionInterceptor.TransactionRolledBackAsync(
        DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken)
    {
        TransactionEnded(eventData.ConnectionId, mayHaveCommitted: false);
        return Task.CompletedTask;
    }

    void IDbTransactionInterceptor.TransactionFailed(DbTransaction transaction, TransactionErrorEventData eventData) =>
        TransactionEnded(eventData.ConnectionId, mayHaveCommitted: true);

    Task IDbTransactionInterceptor.TransactionFailedAsync(
        DbTransaction transaction, TransactionErrorEventData eventData, CancellationToken cancellationToken)
    {
        TransactionEnded(eventData.ConnectionId, mayHaveCommitted: true);
        return Task.CompletedTask;
    }
}
