using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace AuthServer.Data;

/// <summary>
/// The one database of the server: Identity users and roles, OpenIddict applications, authorizations, scopes and
/// tokens, the Data Protection key ring and the server's own signing and encryption keys.
/// </summary>
public sealed class AuthDbContext(DbContextOptions<AuthDbContext> options)
    : IdentityDbContext<ApplicationUser>(options), IDataProtectionKeyContext
{
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    public DbSet<ServerKey> ServerKeys => Set<ServerKey>();

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);

        // Registers the OpenIddict entities with their default string keys. Done on the model rather than on the
        // options so that the design-time factories of both migrations projects see exactly the same model.
        builder.UseOpenIddict();

        builder.Entity<ApplicationUser>(user =>
        {
            user.Property(u => u.DisplayName).HasMaxLength(200);
        });

        builder.Entity<ServerKey>(key =>
        {
            key.ToTable("ServerKeys");
            key.Property(k => k.Purpose).HasMaxLength(32);
            key.Property(k => k.Algorithm).HasMaxLength(32);
            key.Property(k => k.KeyId).HasMaxLength(100);
            key.HasIndex(k => k.KeyId).IsUnique();
            key.HasIndex(k => new { k.Purpose, k.CreatedAt });
        });
    }
}
