using System.Data.Common;
using AuthServer.Data;
using AuthServer.Hosting;
using AuthServer.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace AuthServer.Tests.Hosting;

/// <summary>The gate that queues this process's SQLite writes gives itself back however a write ends.</summary>
public sealed class SqliteWriteGateTests
{
    /// <summary>
    /// The bench's failure: a request cancelled just after BEGIN left a transaction EF Core never took charge of; the
    /// pooled context closed its connection without interceptor events, and every later write waited out the 30 s.
    /// </summary>
    [Fact]
    public async Task Transaction_EfCoreNeverTookCharge_GateIsGivenBackWhenItsConnectionCloses()
    {
        using var gate = new SqliteWriteGate();
        var path = TestDatabase.NewSqlitePath();

        await using (var cancelled = new AuthDbContext(Options(path, gate, new CancelledAfterBegin())))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.Database.BeginTransactionAsync());
        }

        await using var next = new AuthDbContext(Options(path, gate));
        var write = next.Database.ExecuteSqlRawAsync("CREATE TABLE probe (id INTEGER)");
        Assert.Same(write, await Task.WhenAny(write, Task.Delay(TimeSpan.FromSeconds(10))));
        await write;
    }

    [Fact]
    public async Task Transaction_Abandoned_GateIsGivenBackWhenTheContextIsDisposed()
    {
        using var gate = new SqliteWriteGate();
        var path = TestDatabase.NewSqlitePath();

        await using (var abandoning = new AuthDbContext(Options(path, gate)))
        {
            // Begun, never committed, rolled back or disposed.
            await abandoning.Database.BeginTransactionAsync();
        }

        await using var next = new AuthDbContext(Options(path, gate));
        var write = next.Database.ExecuteSqlRawAsync("CREATE TABLE probe (id INTEGER)");
        Assert.Same(write, await Task.WhenAny(write, Task.Delay(TimeSpan.FromSeconds(10))));
        await write;
    }

    private static DbContextOptions<AuthDbContext> Options(string path, params IInterceptor[] interceptors) =>
        new DbContextOptionsBuilder<AuthDbContext>()
            .UseSqlite($"Data Source={path}")
            .AddInterceptors(interceptors)
            .Options;

    /// <summary>Fails a BEGIN after it ran, before EF Core has made its transaction object: a cancelled request.</summary>
    private sealed class CancelledAfterBegin : DbTransactionInterceptor
    {
        public override ValueTask<DbTransaction> TransactionStartedAsync(
            DbConnection connection, TransactionEndEventData eventData, DbTransaction result, CancellationToken cancellationToken = default) =>
            throw new OperationCanceledException();
    }
}
