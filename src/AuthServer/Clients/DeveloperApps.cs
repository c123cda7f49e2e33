using AuthServer.Audit;
using AuthServer.Core;
using AuthServer.Data;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.Clients;

/// <summary>An app as its developer sees it on the dashboard.</summary>
public sealed record DeveloperApp(
    string ClientId, string Name, bool IsPublic, IReadOnlyList<string> RedirectUris, IReadOnlyList<string> Scopes, AppLinks Links, DateTimeOffset CreatedAt);

/// <summary>What a developer chooses for an app: at registration, and again whenever they edit it.</summary>
public sealed record DeveloperAppInput(string Name, IReadOnlyList<Uri> RedirectUris, bool IsPublic, IReadOnlyList<string> Scopes, AppLinks Links);

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

    /// <summary>The scopes a developer's app may ask people for: sign-in, profile, and the platform API's read and write.</summary>
    public static IReadOnlyList<string> AllowedScopes { get; } = [.. PlatformScopes.PersonScopes.Select(scope => scope.Key)];

    /// <summary>Least privilege: what the registration form starts with.</summary>
    public static IReadOnlyList<string> SuggestedScopes { get; } = [Scopes.OpenId, PlatformScopes.Read];

    public async Task<IReadOnlyList<DeveloperApp>> ListAsync(string ownerId, CancellationToken cancellationToken)
    {
        var owned = await context.ClientOwners.AsNoTracking().Where(o => o.OwnerId == ownerId).ToListAsync(cancellationToken);
        var apps = new List<DeveloperApp>();
        foreach (var owner in owned.OrderByDescending(o => o.CreatedAt))
        {
            if (await applications.FindByClientIdAsync(owner.ClientId, cancellationToken) is { } application)
            {
                apps.Add(await DescribeAsync(owner, application, cancellationToken));
            }
        }

        return apps;
    }

    /// <summary>One of the developer's apps; <see langword="null"/> when it is not theirs.</summary>
    public async Task<DeveloperApp?> FindAsync(string ownerId, string clientId, CancellationToken cancellationToken)
    {
        var owner = await context.ClientOwners.AsNoTracking().SingleOrDefaultAsync(o => o.ClientId == clientId && o.OwnerId == ownerId, cancellationToken);
        return owner is not null && await applications.FindByClientIdAsync(clientId, cancellationToken) is { } application
            ? await DescribeAsync(owner, application, cancellationToken)
            : null;
    }

    public async Task<RegisteredClient> CreateAsync(string ownerId, DeveloperAppInput input, CancellationToken cancellationToken)
    {
        if (await context.ClientOwners.CountAsync(o => o.OwnerId == ownerId, cancellationToken) >= MaxAppsPerDeveloper)
        {
            throw new ClientRegistrationException(
                ClientRegistrationException.InvalidClientMetadata, $"A developer may register at most {MaxAppsPerDeveloper} apps.");
        }

        // Developers' apps act for people: the code flow with the scopes chosen among AllowedScopes, never
        // client_credentials or admin.
        var client = await registrar.RegisterAsync(Registration(input), cancellationToken);
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

        await audit.WriteAsync(ownerId, "client.created", client.ClientId, ownerId, new { input.Name, Scope = string.Join(' ', input.Scopes) }, cancellationToken);
        return client;
    }

    /// <summary>
    /// Replaces what the developer chose (name, redirect URIs, scopes, links); <see langword="false"/> when the app is
    /// not theirs. The type stays: a secret handed out cannot be taken back, nor one handed out unseen.
    /// </summary>
    /// <exception cref="ClientRegistrationException">The input breaks a rule (RFC 7591 error and description).</exception>
    public async Task<bool> UpdateAsync(string ownerId, string clientId, DeveloperAppInput input, CancellationToken cancellationToken)
    {
        if (!await OwnsAsync(ownerId, clientId, cancellationToken)
            || await applications.FindByClientIdAsync(clientId, cancellationToken) is not { } application)
        {
            return false;
        }

        if (await applications.HasClientTypeAsync(application, ClientTypes.Public, cancellationToken) != input.IsPublic)
        {
            throw new ClientRegistrationException(ClientRegistrationException.InvalidClientMetadata,
                "An app cannot change between public and confidential; register a new one.");
        }

        var registration = Registration(input);
        if (ClientRegistrar.Validate(registration, await registrar.KnownScopesAsync(cancellationToken)) is { } invalid)
        {
            throw invalid;
        }

        var descriptor = new OpenIddictApplicationDescriptor();
        await applications.PopulateAsync(descriptor, application, cancellationToken);
        ClientRegistrar.Describe(descriptor, registration);
        await applications.UpdateAsync(application, descriptor, cancellationToken);
        await audit.WriteAsync(ownerId, "client.updated", clientId, ownerId, new { input.Name, Scope = string.Join(' ', input.Scopes) }, cancellationToken);
        return true;
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

    private static ClientRegistration Registration(DeveloperAppInput input)
    {
        var scopes = input.Scopes.Distinct(StringComparer.Ordinal).ToList();
        if (scopes.Count == 0 || scopes.Any(scope => !AllowedScopes.Contains(scope)))
        {
            throw new ClientRegistrationException(ClientRegistrationException.InvalidClientMetadata,
                $"Choose the scopes the app may ask for among: {string.Join(' ', AllowedScopes)}.");
        }

        return new ClientRegistration(input.Name, input.RedirectUris, input.IsPublic, scopes, Links: input.Links);
    }

    private async Task<DeveloperApp> DescribeAsync(ClientOwner owner, object application, CancellationToken cancellationToken)
    {
        var permissions = await applications.GetPermissionsAsync(application, cancellationToken);
        var scopes = AllowedScopes
            .Where(scope => scope == Scopes.OpenId || permissions.Contains(Permissions.Prefixes.Scope + scope))
            .ToList();
        return new DeveloperApp(
            owner.ClientId,
            await applications.GetDisplayNameAsync(application, cancellationToken) ?? owner.ClientId,
            await applications.HasClientTypeAsync(application, ClientTypes.Public, cancellationToken),
            [.. await applications.GetRedirectUrisAsync(application, cancellationToken)],
            scopes,
            AppLinks.From(await applications.GetPropertiesAsync(application, cancellationToken)),
            owner.CreatedAt);
    }

    private Task<bool> OwnsAsync(string ownerId, string clientId, CancellationToken cancellationToken) =>
        context.ClientOwners.AnyAsync(o => o.ClientId == clientId && o.OwnerId == ownerId, cancellationToken);
}
