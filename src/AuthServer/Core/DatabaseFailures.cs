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

    /// <summary>
    /// A write refused because a row it refers to is gone (a foreign key violation): on a node that cached that row
    /// (a client deleted on another node), the cache is stale, not the database down.
    /// </summary>
    public static bool IsMissingReference(Exception exception) =>
        exception is DbUpdateException { InnerException: var inner } && inner switch
        {
            Microsoft.Data.Sqlite.SqliteException sqlite => sqlite.SqliteExtendedErrorCode == 787, // SQLITE_CONSTRAINT_FOREIGNKEY
            Npgsql.PostgresException postgres => postgres.SqlState == Npgsql.PostgresErrorCodes.ForeignKeyViolation,
            Microsoft.Data.SqlClient.SqlException sqlServer => sqlServer.Number == 547,
            _ => false,
        };
}
