using AuthServer.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace AuthServer.Migrations.PostgreSql;

/// <summary>
/// Lets `dotnet ef` build the context for PostgreSQL without starting the web host. The connection string is never
/// opened when adding a migration or generating a script.
/// </summary>
public sealed class DesignTimeFactory : IDesignTimeDbContextFactory<AuthDbContext>
{
    public AuthDbContext CreateDbContext(string[] args) => new(CreateOptions());

    public static DbContextOptions<AuthDbContext> CreateOptions()
    {
        var options = new DbContextOptionsBuilder<AuthDbContext>();
        options.UseNpgsql("Host=design-time;Database=authserver", npgsql => npgsql.MigrationsAssembly(typeof(DesignTimeFactory).Assembly.GetName().Name));
        return options.Options;
    }
}
