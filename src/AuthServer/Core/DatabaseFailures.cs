using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace AuthServer.Core;

/// <summary>Tells a database that is down or refusing statements from every other exception.</summary>
internal static class DatabaseFailures
{
    /// <summary>
    /// The database could not be reached or refused a statement: a read's own exception, or EF Core's wrapping of it
    /// (a failed connection, a failed write). A lost optimistic-concurrency race (no database error inside) is not one.
    /// </summary>
    public static bool IsDatabaseFailure(Exception exception) =>
        exception is DbException or RetryLimitExceededException or TimeoutException
        || (exception is InvalidOperationException or DbUpdateException && exception.InnerException is DbException);
}
