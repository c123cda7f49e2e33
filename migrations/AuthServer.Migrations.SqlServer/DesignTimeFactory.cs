using AuthServer.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace AuthServer.Migrations.SqlServer;

/// <summary>
/// Lets `dotnet ef` build the context for SqlServer without starting the web host. The connection string is never
/// opened when adding a migration or generating a script.
/// </summary>
public sealed class DesignTimeFactory : IDesignTimeDbContextFactory<AuthDbContext>
{
    public AuthDbContext CreateDbContext(string[] args) => new(CreateOptions());

    public static DbContextOptions<AuthDbContext> CreateOptions()
    {
        var options = new DbContextOptionsBuilder<AuthDbContext>();
        options.UseSqlServer("Server=design-time;Database=AuthServer;Trusted_Connection=True;TrustServerCertificate=True", sqlServer => sqlServer.MigrationsAssembly(typeof(DesignTimeFactory).Assembly.GetName().Name));
        return options.Options;
    }
}
