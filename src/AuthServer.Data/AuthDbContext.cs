using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.Identity;
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

    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();

    public DbSet<AuditEvent> AuditEvents => Set<AuditEvent>();

    public DbSet<ClientOwner> ClientOwners => Set<ClientOwner>();

    public DbSet<ClientTier> ClientTiers => Set<ClientTier>();

    public DbSet<UsageRecord> UsageRecords => Set<UsageRecord>();

    public DbSet<Lease> Leases => Set<Lease>();

    public DbSet<OutboxMessage> OutboxMessages => Set<OutboxMessage>();

    public DbSet<AuthenticatorStep> AuthenticatorSteps => Set<AuthenticatorStep>();

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);

        // Registers the OpenIddict entities with their default string keys. Done on the model rather than on the
        // options so that the design-time factories of both migrations projects see exactly the same model.
        builder.UseOpenIddict();

        builder.Entity<ApplicationUser>(user =>
        {
            user.Property(u => u.DisplayName).HasMaxLength(200);
            user.Property(u => u.Tier).HasMaxLength(32).HasDefaultValue(AccountTiers.Free);
        });

        // Identity's passkey table (its schema version 3), mapped here rather than through IdentityOptions.Stores so
        // that the design-time factories, which have no application services, build the same model as the server;
        // version 3 would also narrow the keys of the login and token tables, which we leave as they are.
        builder.Entity<IdentityUserPasskey<string>>(passkey =>
        {
            passkey.ToTable("AspNetUserPasskeys");
            passkey.HasKey(p => p.CredentialId);
            passkey.Property(p => p.CredentialId).HasMaxLength(1024);
            passkey.OwnsOne(p => p.Data).ToJson();
            passkey.HasOne<ApplicationUser>().WithMany().HasForeignKey(p => p.UserId).IsRequired();
        });

        builder.Entity<AuthenticatorStep>(step =>
        {
            step.ToTable("AuthenticatorSteps");
            step.HasKey(s => s.UserId);
            step.HasOne<ApplicationUser>().WithOne().HasForeignKey<AuthenticatorStep>(s => s.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<ServerKey>(key =>
        {
            key.ToTable("ServerKeys");
            key.Property(k => k.Purpose).HasMaxLength(32);
            key.Property(k => k.Algorithm).HasMaxLength(32);
            key.Property(k => k.KeyId).HasMaxLength(100);
            key.HasIndex(k => k.KeyId).IsUnique();
            key.HasIndex(k => new { k.Purpose, k.Generation }).IsUnique();
        });

        builder.Entity<Lease>(lease =>
        {
            lease.ToTable("Leases");
            lease.HasKey(l => l.Name);
            lease.Property(l => l.Name).HasMaxLength(64);
            lease.Property(l => l.Holder).HasMaxLength(200);
        });

        builder.Entity<OutboxMessage>(message =>
        {
            message.ToTable("OutboxMessages");
            message.Property(m => m.To).HasMaxLength(256);
            message.Property(m => m.Subject).HasMaxLength(200);
            message.Property(m => m.LastError).HasMaxLength(1000);
            message.HasIndex(m => new { m.SentAt, m.NextAttemptAt });
        });

        builder.Entity<ApiKey>(key =>
        {
            key.ToTable("ApiKeys");
            key.Property(k => k.Id).HasMaxLength(32);
            key.Property(k => k.OwnerId).HasMaxLength(450);
            key.Property(k => k.Name).HasMaxLength(100);
            key.Property(k => k.Hash).HasMaxLength(64).IsFixedLength().IsUnicode(false);
            key.Property(k => k.DisplayPrefix).HasMaxLength(16);
            key.Property(k => k.LastFour).HasMaxLength(4);
            key.Property(k => k.Scopes).HasMaxLength(200);
            key.Property(k => k.ReplacedById).HasMaxLength(32);
            key.HasIndex(k => k.Hash).IsUnique();
            key.HasIndex(k => k.OwnerId);
            key.HasOne(k => k.Owner).WithMany().HasForeignKey(k => k.OwnerId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<ClientOwner>(owner =>
        {
            owner.ToTable("ClientOwners");
            owner.HasKey(o => o.ClientId);
            owner.Property(o => o.ClientId).HasMaxLength(100);
            owner.Property(o => o.OwnerId).HasMaxLength(450);
            owner.HasIndex(o => o.OwnerId);
            owner.HasOne<ApplicationUser>().WithMany().HasForeignKey(o => o.OwnerId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<ClientTier>(tier =>
        {
            tier.ToTable("ClientTiers");
            tier.HasKey(t => t.ClientId);
            tier.Property(t => t.ClientId).HasMaxLength(100);
            tier.Property(t => t.Tier).HasMaxLength(32);
        });

        builder.Entity<UsageRecord>(usage =>
        {
            usage.ToTable("UsageRecords");
            usage.Property(u => u.AccountId).HasMaxLength(450);
            usage.Property(u => u.Credential).HasMaxLength(120);
            usage.Property(u => u.StatusClass).HasMaxLength(3).IsUnicode(false);
            usage.HasIndex(u => new { u.AccountId, u.Minute, u.Credential, u.StatusClass }).IsUnique();
            usage.HasIndex(u => u.Minute);
        });

        builder.Entity<AuditEvent>(audit =>
        {
            audit.ToTable("AuditEvents");
            audit.Property(a => a.Actor).HasMaxLength(450);
            audit.Property(a => a.Action).HasMaxLength(64);
            audit.Property(a => a.Target).HasMaxLength(450);
            audit.Property(a => a.AccountId).HasMaxLength(450);
            audit.Property(a => a.IpAddress).HasMaxLength(64);
            audit.Property(a => a.Details).HasMaxLength(4000);
            audit.HasIndex(a => a.AccountId);
        });
    }
}
