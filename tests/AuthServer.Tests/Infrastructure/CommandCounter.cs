using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace AuthServer.Tests.Infrastructure;

/// <summary>One SQL command as run: its text, and the transaction it ran in (<see langword="null"/> for none).</summary>
internal sealed record RecordedCommand(string Text, System.Data.Common.DbTransaction? Transaction);

/// <summary>Counts (and keeps) the SQL commands EF Core runs against one test database while it is alive, except those of background jobs.</summary>
internal sealed class CommandCounter : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>, IDisposable
{
    // What the background jobs read on their own schedule (the email sender's outbox and lease, the key refresh), not
    // on a request's behalf: left out, so that a count says what requests cost.
    private static readonly string[] BackgroundTables = ["\"OutboxMessages\"", "\"Leases\"", "\"ServerKeys\""];

    private readonly string _databasePath;
    private readonly IDisposable _all;
    private readonly List<IDisposable> _subscriptions = [];
    private readonly List<RecordedCommand> _commands = [];

    public CommandCounter(string databasePath)
    {
        // What the server's connection string holds of this database: the file, or the PostgreSQL database's name.
        _databasePath = SuiteDatabase.IsSqlite ? databasePath : new Npgsql.NpgsqlConnectionStringBuilder(SuiteDatabase.ConnectionString(databasePath)).Database!;
        _all = DiagnosticListener.AllListeners.Subscribe(this);
        if (!SuiteDatabase.IsSqlite)
        {
            // EF Core asks whether anyone listens at most once a second (LoggingCacheTime) unless an interceptor needs
            // every command, as SQLite's write gate does: without one, the commands of the next second could go unseen.
            Thread.Sleep(TimeSpan.FromSeconds(1.1));
        }
    }

    public int Count
    {
        get
        {
            lock (_commands)
            {
                return _commands.Count;
            }
        }
    }

    /// <summary>The commands so far, in the order they ran.</summary>
    public IReadOnlyList<RecordedCommand> Commands
    {
        get
        {
            lock (_commands)
            {
                return [.. _commands];
            }
        }
    }

    public void OnNext(DiagnosticListener listener)
    {
        if (listener.Name == DbLoggerCategory.Name)
        {
            lock (_subscriptions)
            {
                _subscriptions.Add(listener.Subscribe(this));
            }
        }
    }

    public void OnNext(KeyValuePair<string, object?> value)
    {
        if (value.Key == RelationalEventId.CommandExecuting.Name
            && value.Value is CommandEventData data
            && data.Command.Connection?.ConnectionString.Contains(_databasePath, StringComparison.Ordinal) == true
            && !BackgroundTables.Any(table => data.Command.CommandText.Contains(table, StringComparison.Ordinal)))
        {
            lock (_commands)
            {
                _commands.Add(new RecordedCommand(data.Command.CommandText, data.Command.Transaction));
            }
        }
    }

    public void OnCompleted()
    {
    }

    public void OnError(Exception error)
    {
    }

    public void Dispose()
    {
        _all.Dispose();
        lock (_subscriptions)
        {
            _subscriptions.ForEach(subscription => subscription.Dispose());
        }
    }
}
