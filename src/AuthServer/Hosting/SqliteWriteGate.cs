using System.Collections.Concurrent;
using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace AuthServer.Hosting;

/// <summary>
/// Queues this process's writes to the embedded SQLite database, which has one writer at a time (Microsoft.Data.Sqlite
/// would retry a collision by sleeping 150 ms): a transaction, or a writing statement outside one, holds an async lock
/// while it runs; reads are never gated (WAL). A write that waits longer than <see cref="MaxWait"/> fails as a database
/// timeout (503, never a hang). Each connection also gets <c>synchronous=NORMAL</c> and a busy timeout for writers in
/// other processes (docs/operations.md says what that means for durability).
/// </summary>
internal sealed class SqliteWriteGate : DbCommandInterceptor, IDbConnectionInterceptor, ITransactionEndInterceptor, IDisposable
{
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(30);

    private static readonly object Marker = new();

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ConditionalWeakTable<object, object> _tuned = [];

    // Who holds the gate: a connection with an open transaction, or a command running outside one.
    private readonly ConcurrentDictionary<Guid, byte> _transactions = new();
    private readonly ConditionalWeakTable<DbCommand, object> _commands = [];
    private readonly ConditionalWeakTable<DbConnection, object> _watched = [];
    private int _commandsHolding;

    // ---- connections: tune each native connection once; a closing connection gives the gate back ----

    public void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Tune(connection);

    public Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Tune(connection);
        return Task.CompletedTask;
    }

    private void Tune(DbConnection connection)
    {
        if (connection is not SqliteConnection sqlite || sqlite.Handle is not { } handle || _tuned.TryGetValue(handle, out _))
        {
            return;
        }

        using var command = sqlite.CreateCommand();
        command.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;";
        command.ExecuteNonQuery();
        _tuned.AddOrUpdate(handle, Marker);
    }

    // ---- transactions ----

    // The gate is taken before BEGIN (Microsoft.Data.Sqlite begins IMMEDIATE, which takes SQLite's write lock), and
    // the gate begins the transaction itself so that a BEGIN that fails (a cancelled request) gives the gate back.
    public InterceptionResult<DbTransaction> TransactionStarting(
        DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result)
    {
        if (connection is not SqliteConnection)
        {
            return result;
        }

        Enter();
        return BeginHoldingGate(connection, eventData);
    }

    public async ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(
        DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result,
        CancellationToken cancellationToken = default)
    {
        if (connection is not SqliteConnection)
        {
            return result;
        }

        await EnterAsync(cancellationToken);
        return BeginHoldingGate(connection, eventData);
    }

    private InterceptionResult<DbTransaction> BeginHoldingGate(DbConnection connection, TransactionStartingEventData eventData)
    {
        try
        {
            var transaction = connection.BeginTransaction(eventData.IsolationLevel);
            _transactions[eventData.ConnectionId] = 0;
            WatchClosing(connection, eventData.ConnectionId);
            return InterceptionResult<DbTransaction>.SuppressWithResult(transaction);
        }
        catch
        {
            _gate.Release();
            throw;
        }
    }

    // A closed connection holds nothing, however it was closed: EF Core closes a pooled context's connection without
    // its interceptor events, and a transaction it never took charge of (a request cancelled just after BEGIN) ends
    // only there. Without this, such a transaction kept the gate for good (every later write timed out).
    private void WatchClosing(DbConnection connection, Guid connectionId)
    {
        if (_watched.TryAdd(connection, Marker))
        {
            connection.StateChange += (_, change) =>
            {
                if (change.CurrentState == System.Data.ConnectionState.Closed)
                {
                    EndTransaction(connectionId);
                    EndCommandsOn(connection);
                }
            };
        }
    }

    // Committed, rolled back or failed: the transaction no longer holds the gate.
    public void TransactionEnded(Guid connectionId, bool mayHaveCommitted) => EndTransaction(connectionId);

    private void EndTransaction(Guid connectionId)
    {
        if (_transactions.TryRemove(connectionId, out _))
        {
            _gate.Release();
        }
    }

    // ---- single statements outside a transaction ----

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        BeginCommand(command, eventData);
        return result;
    }

    public override async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        await BeginCommandAsync(command, eventData, cancellationToken);
        return result;
    }

    public override int NonQueryExecuted(DbCommand command, CommandExecutedEventData eventData, int result)
    {
        EndCommand(command);
        return result;
    }

    public override ValueTask<int> NonQueryExecutedAsync(
        DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        EndCommand(command);
        return ValueTask.FromResult(result);
    }

    public override InterceptionResult<DbDataReader> ReaderExecuting(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        BeginCommand(command, eventData);
        return result;
    }

    public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        await BeginCommandAsync(command, eventData, cancellationToken);
        return result;
    }

    // An INSERT … RETURNING runs as a reader: its implicit transaction ends when the reader is disposed.
    public override InterceptionResult DataReaderDisposing(DbCommand command, DataReaderDisposingEventData eventData, InterceptionResult result)
    {
        EndCommand(command);
        return result;
    }

    public override void CommandFailed(DbCommand command, CommandErrorEventData eventData) => EndCommand(command);

    public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        EndCommand(command);
        return Task.CompletedTask;
    }

    public override void CommandCanceled(DbCommand command, CommandEndEventData eventData) => EndCommand(command);

    public override Task CommandCanceledAsync(DbCommand command, CommandEndEventData eventData, CancellationToken cancellationToken = default)
    {
        EndCommand(command);
        return Task.CompletedTask;
    }

    private void BeginCommand(DbCommand command, CommandEventData eventData)
    {
        if (IsWrite(command, eventData))
        {
            Enter();
            _commands.AddOrUpdate(command, Marker);
            Interlocked.Increment(ref _commandsHolding);
            WatchClosing(command.Connection!, eventData.ConnectionId);
        }
    }

    private async ValueTask BeginCommandAsync(DbCommand command, CommandEventData eventData, CancellationToken cancellationToken)
    {
        if (IsWrite(command, eventData))
        {
            await EnterAsync(cancellationToken);
            _commands.AddOrUpdate(command, Marker);
            Interlocked.Increment(ref _commandsHolding);
            WatchClosing(command.Connection!, eventData.ConnectionId);
        }
    }

    // Every close of a watched connection comes here (EF Core closes after each query): the table of writing commands
    // is walked only while one holds the gate.
    private void EndCommandsOn(DbConnection connection)
    {
        if (Volatile.Read(ref _commandsHolding) == 0)
        {
            return;
        }

        foreach (var (command, _) in _commands)
        {
            if (ReferenceEquals(command.Connection, connection))
            {
                EndCommand(command);
            }
        }
    }

    private void EndCommand(DbCommand command)
    {
        if (_commands.Remove(command))
        {
            Interlocked.Decrement(ref _commandsHolding);
            _gate.Release();
        }
    }

    /// <summary>
    /// A statement that writes, outside a transaction, as the code that issued it says (EF Core's
    /// <see cref="CommandSource"/>): SaveChanges, a bulk update or delete, raw SQL executed for its effect, a migration.
    /// Queries never take the gate.
    /// </summary>
    private bool IsWrite(DbCommand command, CommandEventData eventData) =>
        command.Connection is SqliteConnection
        && command.Transaction is null
        && !_transactions.ContainsKey(eventData.ConnectionId)
        && eventData.CommandSource is CommandSource.SaveChanges or CommandSource.ExecuteUpdate or CommandSource.ExecuteDelete
            or CommandSource.ExecuteSqlRaw or CommandSource.Migrations;

    public void Dispose() => _gate.Dispose();

    private void Enter()
    {
        if (!_gate.Wait(MaxWait))
        {
            throw new TimeoutException($"A database write waited more than {MaxWait.TotalSeconds} s for the one before it.");
        }
    }

    private async Task EnterAsync(CancellationToken cancellationToken)
    {
        if (!await _gate.WaitAsync(MaxWait, cancellationToken))
        {
            throw new TimeoutException($"A database write waited more than {MaxWait.TotalSeconds} s for the one before it.");
        }
    }
}
