using AuthServer.Data;
using Microsoft.EntityFrameworkCore;

namespace AuthServer.Hosting;

/// <summary>
/// Lets one node at a time run a job when several share the database: a row per job names the node holding it and
/// until when. A node that stops without releasing its lease only holds the job until the lease expires.
/// </summary>
internal sealed class JobLeases(IServiceScopeFactory scopes, TimeProvider clock)
{
    /// <summary>This node, as written in the leases it holds.</summary>
    public string Holder { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    /// <summary>Takes or renews the lease on <paramref name="name"/> for <paramref name="duration"/>; false when another node holds it.</summary>
    public async Task<bool> TryAcquireAsync(string name, TimeSpan duration, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var until = now + (long)duration.TotalMilliseconds;

        var taken = await context.Leases
            .Where(lease => lease.Name == name && (lease.ExpiresAt <= now || lease.Holder == Holder))
            .ExecuteUpdateAsync(set => set.SetProperty(lease => lease.Holder, Holder).SetProperty(lease => lease.ExpiresAt, until), cancellationToken);
        if (taken > 0)
        {
            return true;
        }

        if (await context.Leases.AnyAsync(lease => lease.Name == name, cancellationToken))
        {
            return false;
        }

        context.Leases.Add(new Lease { Name = name, Holder = Holder, ExpiresAt = until });
        try
        {
            await context.SaveChangesAsync(cancellationToken);
            return true;
        }
        catch (DbUpdateException)
        {
            // Another node inserted the first row of this job at the same time, and holds it.
            return false;
        }
    }

    /// <summary>Gives the lease back, if this node holds it, so another node need not wait for it to expire.</summary>
    public async Task ReleaseAsync(string name, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<AuthDbContext>().Leases
            .Where(lease => lease.Name == name && lease.Holder == Holder)
            .ExecuteUpdateAsync(set => set.SetProperty(lease => lease.ExpiresAt, 0L), cancellationToken);
    }
}
