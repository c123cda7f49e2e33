using AuthServer.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace AuthServer.Migrations.Sqlite;

/// <summary>
/// Lets `dotnet ef` build the context for Sqlite without starting the web host. The connection string is never
/// opened when adding a migration or generating a script.
/// </summary>
public sealed class DesignTimeFactory : IDesignTimeDbContextFactory<AuthDbContext>
{
    public AuthDbContext CreateDbContext(string[] args) => new(CreateOptions());

    public static DbContextOptions<AuthDbContext> CreateOptions()
    {
        var options = new DbContextOptionsBuilder<AuthDbContext>();
        options.UseSqlite("Data Source=design-time.db", sqlite => sqlite.MigrationsAssembly(typeof(DesignTimeFactory).Assembly.GetName().Name));
        return options.Options;
    }
}
