using AuthServer.Audit;
using AuthServer.Data;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.Clients;

/// <summary>An app as its developer sees it on the dashboard.</summary>
public sealed record DeveloperApp(string ClientId, string Name, bool IsPublic, IReadOnlyList<string> RedirectUris, DateTimeOffset CreatedAt);

/// <summary>Apps developers register for themselves: each sees, rotates and deletes only their own.</summary>
internal sealed class DeveloperApps(
    AuthDbContext context,
    ClientRegistrar registrar,
    ClientSecretRotator rotator,
    IOpenIddictApplicationManager applications,
    AuditLog audit,
    TimeProvider clock)
{
    public const int MaxAppsPerDeveloper = 25;

    public async Task<IReadOnlyList<DeveloperApp>> ListAsync(string ownerId, CancellationToken cancellationToken)
    {
        var owned = await context.ClientOwners.AsNoTracking().Where(o => o.OwnerId == ownerId).ToListAsync(cancellationToken);
        var apps = new List<DeveloperApp>();
        foreach (var owner in owned.OrderByDescending(o => o.CreatedAt))
        {
            if (await applications.FindByClientIdAsync(owner.ClientId, cancellationToken) is { } application)
            {
                apps.Add(new DeveloperApp(
                    owner.ClientId,
                    await applications.GetDisplayNameAsync(application, cancellationToken) ?? owner.ClientId,
                    await applications.HasClientTypeAsync(application, ClientTypes.Public, cancellationToken),
                    [.. await applications.GetRedirectUrisAsync(application, cancellationToken)],
                    owner.CreatedAt));
            }
        }

        return apps;
    }

    public async Task<RegisteredClient> CreateAsync(
        string ownerId, string name, IReadOnlyList<Uri> redirectUris, bool isPublic, CancellationToken cancellationToken)
    {
        if (await context.ClientOwners.CountAsync(o => o.OwnerId == ownerId, cancellationToken) >= MaxAppsPerDeveloper)
        {
            throw new ClientRegistrationException(
                ClientRegistrationException.InvalidClientMetadata, $"A developer may register at most {MaxAppsPerDeveloper} apps.");
        }

        // Developers' apps act for users: the code flow with the default scopes, never client_credentials or admin.
        var client = await registrar.RegisterAsync(
            new ClientRegistration(name, redirectUris, isPublic, ClientRegistrar.DefaultScopes), cancellationToken);
        context.ClientOwners.Add(new ClientOwner { ClientId = client.ClientId, OwnerId = ownerId, CreatedAt = clock.GetUtcNow() });
        try
        {
            await context.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Do not leave an app nobody owns.
            if (await applications.FindByClientIdAsync(client.ClientId, cancellationToken) is { } orphan)
            {
                await applications.DeleteAsync(orphan, cancellationToken);
            }

            throw;
        }

        await audit.WriteAsync(ownerId, "client.created", client.ClientId, ownerId, new { Name = name }, cancellationToken);
        return client;
    }

    public async Task<string?> RotateSecretAsync(string ownerId, string clientId, TimeSpan grace, CancellationToken cancellationToken)
    {
        if (!await OwnsAsync(ownerId, clientId, cancellationToken))
        {
            return null;
        }

        var secret = await rotator.RotateAsync(clientId, grace, cancellationToken);
        if (secret is not null)
        {
            await audit.WriteAsync(ownerId, "client.secret_rotated", clientId, ownerId,
                new { GracePeriodSeconds = (long)grace.TotalSeconds }, cancellationToken);
        }

        return secret;
    }

    public async Task<bool> DeleteAsync(string ownerId, string clientId, CancellationToken cancellationToken)
    {
        var owner = await context.ClientOwners.SingleOrDefaultAsync(o => o.ClientId == clientId && o.OwnerId == ownerId, cancellationToken);
        if (owner is null)
        {
            return false;
        }

        if (await applications.FindByClientIdAsync(clientId, cancellationToken) is { } application)
        {
            // The store deletes the app's authorizations and tokens with it.
            await applications.DeleteAsync(application, cancellationToken);
        }

        context.ClientOwners.Remove(owner);
        await context.SaveChangesAsync(cancellationToken);
        await audit.WriteAsync(ownerId, "client.deleted", clientId, ownerId, null, cancellationToken);
        return true;
    }

    private Task<bool> OwnsAsync(string ownerId, string clientId, CancellationToken cancellationToken) =>
        context.ClientOwners.AnyAsync(o => o.ClientId == clientId && o.OwnerId == ownerId, cancellationToken);
}
