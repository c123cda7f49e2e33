using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using OpenIddict.EntityFrameworkCore;
using OpenIddict.EntityFrameworkCore.Models;

namespace AuthServer.OAuth.Acceleration;

/// <summary>
/// OpenIddict's EF Core authorization store, with the lookup of a person's earlier consents to a client (subject,
/// client, status and type all given: every consent and every authorization request that may reuse one) as a
/// compiled query. The stock store builds that query as a LINQ expression on every call, which EF Core walks again
/// each time to extract its parameters and find its cached plan. The rows it reads, their tracking and the scope
/// filter applied to them are the stock store's; other combinations of criteria go to the stock store.
/// </summary>
internal sealed class AuthorizationStore(
    IMemoryCache cache,
    IOpenIddictEntityFrameworkCoreContext context,
    IOptionsMonitor<OpenIddictEntityFrameworkCoreOptions> options)
    : OpenIddictEntityFrameworkCoreAuthorizationStore<
        OpenIddictEntityFrameworkCoreAuthorization, OpenIddictEntityFrameworkCoreApplication, OpenIddictEntityFrameworkCoreToken, string>(
        cache, context, options)
{
    private static readonly PerModel<Func<DbContext, string, string, string, string, IAsyncEnumerable<OpenIddictEntityFrameworkCoreAuthorization>>> Matching = new(() =>
        EF.CompileAsyncQuery((DbContext db, string subject, string client, string status, string type) =>
            db.Set<OpenIddictEntityFrameworkCoreAuthorization>()
                .Include(authorization => authorization.Application)
                .AsTracking()
                .Where(authorization => authorization.Subject == subject
                    && authorization.Application!.Id == client
                    && authorization.Status == status
                    && authorization.Type == type)));

    public override IAsyncEnumerable<OpenIddictEntityFrameworkCoreAuthorization> FindAsync(
        string? subject, string? client, string? status, string? type, ImmutableArray<string>? scopes, CancellationToken cancellationToken) =>
        string.IsNullOrEmpty(subject) || string.IsNullOrEmpty(client) || string.IsNullOrEmpty(status) || string.IsNullOrEmpty(type)
            ? base.FindAsync(subject, client, status, type, scopes, cancellationToken)
            : FindMatchingAsync(subject, client, status, type, scopes, cancellationToken);

    private async IAsyncEnumerable<OpenIddictEntityFrameworkCoreAuthorization> FindMatchingAsync(
        string subject, string client, string status, string type, ImmutableArray<string>? scopes,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var context = await Context.GetDbContextAsync(cancellationToken);
        await foreach (var authorization in Matching.For(context)(context, subject, client, status, type).WithCancellation(cancellationToken))
        {
            // As the stock store: an authorization qualifies when it holds at least the requested scopes.
            if (scopes is not { } requested
                || (await GetScopesAsync(authorization, cancellationToken)).ToHashSet(StringComparer.Ordinal).IsSupersetOf(requested))
            {
                yield return authorization;
            }
        }
    }
}
