using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Core;
using OpenIddict.EntityFrameworkCore.Models;

namespace AuthServer.OAuth.Acceleration;

/// <summary>
/// OpenIddict's scope manager reading scopes through the node-wide <see cref="EntityCache"/>: every token request
/// checks its scopes and collects their resources, and scopes change rarely (admins, through <c>/admin/scopes</c>).
/// A change on this node clears the cache at once.
/// </summary>
internal sealed class CachedScopeManager(
    IOpenIddictScopeCache<OpenIddictEntityFrameworkCoreScope> cache,
    ILogger<OpenIddictScopeManager<OpenIddictEntityFrameworkCoreScope>> logger,
    IOptionsMonitor<OpenIddictCoreOptions> options,
    IOpenIddictScopeStore<OpenIddictEntityFrameworkCoreScope> store,
    EntityCache entities,
    AuthServer.Data.AuthDbContext context)
    : OpenIddictScopeManager<OpenIddictEntityFrameworkCoreScope>(cache, logger, options, store)
{
    public override ValueTask<OpenIddictEntityFrameworkCoreScope?> FindByNameAsync(string name, CancellationToken cancellationToken = default) =>
        entities.GetOrLoadAsync("scope:" + name, () => base.FindByNameAsync(name, cancellationToken));

    public override async IAsyncEnumerable<OpenIddictEntityFrameworkCoreScope> FindByNamesAsync(
        ImmutableArray<string> names, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var found = await entities.GetOrLoadListAsync("scopes:" + string.Join(' ', names.Order(StringComparer.Ordinal)), async () =>
        {
            var list = new List<OpenIddictEntityFrameworkCoreScope>();
            await foreach (var scope in base.FindByNamesAsync(names, cancellationToken))
            {
                list.Add(scope);
            }

            return (IReadOnlyList<OpenIddictEntityFrameworkCoreScope>)list;
        });

        foreach (var scope in found)
        {
            yield return scope;
        }
    }

    public override async ValueTask CreateAsync(OpenIddictEntityFrameworkCoreScope scope, CancellationToken cancellationToken = default)
    {
        await base.CreateAsync(scope, cancellationToken);
        entities.InvalidateAll();
    }

    public override async ValueTask UpdateAsync(OpenIddictEntityFrameworkCoreScope scope, CancellationToken cancellationToken = default)
    {
        await EntityCache.ChangeAsync(context, scope, () => Store.FindByIdAsync(scope.Id!, cancellationToken), tracked => base.UpdateAsync(tracked, cancellationToken));
        entities.InvalidateAll();
    }

    public override async ValueTask DeleteAsync(OpenIddictEntityFrameworkCoreScope scope, CancellationToken cancellationToken = default)
    {
        await EntityCache.ChangeAsync(context, scope, () => Store.FindByIdAsync(scope.Id!, cancellationToken), tracked => base.DeleteAsync(tracked, cancellationToken));
        entities.InvalidateAll();
    }
}
