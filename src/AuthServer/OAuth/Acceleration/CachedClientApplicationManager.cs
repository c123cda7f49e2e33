using AuthServer.Data;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Core;
using OpenIddict.EntityFrameworkCore.Models;

namespace AuthServer.OAuth.Acceleration;

/// <summary>
/// The application manager with clients read through the node-wide <see cref="EntityCache"/>: a token,
/// introspection or authorization request does not query its client. A change made through this manager drops the
/// entry on this node at once.
/// </summary>
internal sealed class CachedClientApplicationManager(
    IOpenIddictApplicationCache<OpenIddictEntityFrameworkCoreApplication> cache,
    ILogger<OpenIddictApplicationManager<OpenIddictEntityFrameworkCoreApplication>> logger,
    IOptionsMonitor<OpenIddictCoreOptions> options,
    IOpenIddictApplicationStore<OpenIddictEntityFrameworkCoreApplication> store,
    TimeProvider clock,
    AccessTokenStatus tokenStatus,
    EntityCache entities,
    AuthDbContext context)
    : ClientApplicationManager(cache, logger, options, store, clock, tokenStatus)
{
    public override ValueTask<OpenIddictEntityFrameworkCoreApplication?> FindByClientIdAsync(
        string identifier, CancellationToken cancellationToken = default) =>
        entities.GetOrLoadAsync("client:" + identifier, () => base.FindByClientIdAsync(identifier, cancellationToken));

    public override ValueTask<OpenIddictEntityFrameworkCoreApplication?> FindByIdAsync(
        string identifier, CancellationToken cancellationToken = default) =>
        entities.GetOrLoadAsync("client-id:" + identifier, () => base.FindByIdAsync(identifier, cancellationToken));

    public override async ValueTask UpdateAsync(OpenIddictEntityFrameworkCoreApplication application, CancellationToken cancellationToken = default)
    {
        await EntityCache.ChangeAsync(
            context, application, () => Store.FindByIdAsync(application.Id!, cancellationToken), tracked => base.UpdateAsync(tracked, cancellationToken));
        Invalidate(application);
    }

    public override async ValueTask DeleteAsync(OpenIddictEntityFrameworkCoreApplication application, CancellationToken cancellationToken = default)
    {
        await EntityCache.ChangeAsync(
            context, application, () => Store.FindByIdAsync(application.Id!, cancellationToken), tracked => base.DeleteAsync(tracked, cancellationToken));
        Invalidate(application);
    }

    private void Invalidate(OpenIddictEntityFrameworkCoreApplication application) => entities.InvalidateClient(application.ClientId, application.Id);
}
