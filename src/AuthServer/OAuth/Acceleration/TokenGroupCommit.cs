using AuthServer.Data;
using Microsoft.EntityFrameworkCore;
using OpenIddict.EntityFrameworkCore.Models;

namespace AuthServer.OAuth.Acceleration;

/// <summary>
/// Writes the new token rows of concurrent requests together (a group commit): a request hands over its row and waits;
/// the rows that arrived while the previous write was in flight go out in the next one, one <c>SaveChanges</c>, one
/// transaction. Each request still answers only once its own row is committed. A write the database refuses (a row
/// whose client was deleted on another node) is tried again row by row, so only the rows at fault fail; one that
/// cannot reach the database fails every request whose row it carried (none returns a token). One write per row was about half of a
/// <c>client_credentials</c> token's CPU time (docs/benchmarks.md). Alone, a row is written at once.
/// </summary>
internal sealed class TokenGroupCommit(IServiceScopeFactory scopes)
{
    private readonly Lock _lock = new();
    private List<Pending> _queue = [];
    private bool _writing;

    /// <summary>Inserts <paramref name="token"/>, linked to the client <paramref name="applicationId"/>, and returns
    /// once it is committed.</summary>
    public Task InsertAsync(OpenIddictEntityFrameworkCoreToken token, string applicationId)
    {
        ArgumentNullException.ThrowIfNull(token);
        var pending = new Pending(token, applicationId, new(TaskCreationOptions.RunContinuationsAsynchronously));
        bool start;
        lock (_lock)
        {
            _queue.Add(pending);
            start = !_writing;
            _writing = true;
        }

        if (start)
        {
            // Note: the writes outlive the request that starts them; none of its context (HTTP context, activity,
            // log scopes) goes with them.
            using (ExecutionContext.SuppressFlow())
            {
                _ = Task.Run(WriteAllAsync);
            }
        }

        return pending.Committed.Task;
    }

    private async Task WriteAllAsync()
    {
        while (true)
        {
            List<Pending> batch;
            lock (_lock)
            {
                if (_queue.Count == 0)
                {
                    _writing = false;
                    return;
                }

                batch = _queue;
                _queue = [];
            }

            try
            {
                await WriteAsync(batch);
                batch.ForEach(pending => pending.Committed.TrySetResult());
            }
            catch (DbUpdateException) when (batch.Count > 1)
            {
                foreach (var pending in batch)
                {
                    try
                    {
                        await WriteAsync([pending]);
                        pending.Committed.TrySetResult();
                    }
                    catch (Exception exception)
                    {
                        pending.Committed.TrySetException(exception);
                    }
                }
            }
            catch (Exception exception)
            {
                batch.ForEach(pending => pending.Committed.TrySetException(exception));
            }
        }
    }

    private async Task WriteAsync(List<Pending> rows)
    {
        await using var scope = scopes.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
        foreach (var pending in rows)
        {
            context.Add(pending.Token).Property(TokenStore.ApplicationKey).CurrentValue = pending.ApplicationId;
        }

        await context.SaveChangesAsync();
    }

    private sealed record Pending(OpenIddictEntityFrameworkCoreToken Token, string ApplicationId, TaskCompletionSource Committed);
}
