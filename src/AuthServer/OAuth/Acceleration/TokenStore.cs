using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore;
using OpenIddict.EntityFrameworkCore.Models;

namespace AuthServer.OAuth.Acceleration;

/// <summary>
/// OpenIddict's EF Core token store, with one change on the path of every issued token: linking a new token to its
/// client and authorization sets the foreign keys, where the stock store first loads both entities (two queries,
/// each with an expression compiled for it) only to take their ids. The rows written are the same.
/// During a sign-in, new rows wait in the context for the <see cref="TokenWriteBatch"/> to write them together.
/// The lookups of a presented code or refresh token (by reference id) and of a token by id are compiled queries.
/// Reading the links back and finding a token the context tracks skip EF Core's detect-changes pass, which a profile
/// of sign-in flows showed as a visible share of their CPU (docs/benchmarks.md).
/// </summary>
internal sealed class TokenStore(
    IMemoryCache cache,
    IOpenIddictEntityFrameworkCoreContext context,
    IOptionsMonitor<OpenIddictEntityFrameworkCoreOptions> options,
    TokenWriteBatch batch)
    : OpenIddictEntityFrameworkCoreTokenStore<
        OpenIddictEntityFrameworkCoreToken, OpenIddictEntityFrameworkCoreApplication, OpenIddictEntityFrameworkCoreAuthorization, string>(
        cache, context, options)
{
    /// <summary>The token's foreign key to its client (a shadow property of OpenIddict's EF Core model).</summary>
    internal const string ApplicationKey = "ApplicationId";
    private const string AuthorizationKey = "AuthorizationId";

    // Links of tokens not yet added to the context; applied when they are.
    private readonly ConditionalWeakTable<OpenIddictEntityFrameworkCoreToken, Dictionary<string, string?>> _links = [];

    // The stock store's lookups by id and by reference id, with the same includes and tracking, compiled once: the
    // stock store builds each as a LINQ expression per call, which EF Core walks again every time to extract its
    // parameters and find its cached plan. Like the stock store, a token the context already tracks is answered
    // without a query.
    private static readonly PerModel<Func<DbContext, string, CancellationToken, Task<OpenIddictEntityFrameworkCoreToken?>>> ById = new(() =>
        EF.CompileAsyncQuery((DbContext db, string id, CancellationToken _) => db.Set<OpenIddictEntityFrameworkCoreToken>()
            .Include(token => token.Application)
            .Include(token => token.Authorization)
            .AsTracking()
            .FirstOrDefault(token => token.Id == id)));

    private static readonly PerModel<Func<DbContext, string, CancellationToken, Task<OpenIddictEntityFrameworkCoreToken?>>> ByReferenceId = new(() =>
        EF.CompileAsyncQuery((DbContext db, string referenceId, CancellationToken _) => db.Set<OpenIddictEntityFrameworkCoreToken>()
            .Include(token => token.Application)
            .Include(token => token.Authorization)
            .AsTracking()
            .FirstOrDefault(token => token.ReferenceId == referenceId)));

    public override async ValueTask SetApplicationIdAsync(OpenIddictEntityFrameworkCoreToken token, string? identifier, CancellationToken cancellationToken)
    {
        var context = await Context.GetDbContextAsync(cancellationToken);
        if (string.IsNullOrEmpty(identifier))
        {
            // The stock store clears the navigation; the key goes too, so that the link read back is the one set.
            await base.SetApplicationIdAsync(token, identifier, cancellationToken);
            Link(context, token, ApplicationKey, null);
            return;
        }

        Link(context, token, ApplicationKey, identifier);
    }

    public override async ValueTask SetAuthorizationIdAsync(OpenIddictEntityFrameworkCoreToken token, string? identifier, CancellationToken cancellationToken)
    {
        var context = await Context.GetDbContextAsync(cancellationToken);
        if (string.IsNullOrEmpty(identifier))
        {
            await base.SetAuthorizationIdAsync(token, identifier, cancellationToken);
            Link(context, token, AuthorizationKey, null);
            return;
        }

        Link(context, token, AuthorizationKey, identifier);
    }

    // Reading the links back: OpenIddict asks for them right after creating a token (its token cache indexes the entry
    // by client), and the stock store loads the whole client or authorization entity (a query) only to take its id.
    // The foreign key the context tracks is that id.
    public override async ValueTask<string?> GetApplicationIdAsync(OpenIddictEntityFrameworkCoreToken token, CancellationToken cancellationToken) =>
        await LinkAsync(token, ApplicationKey, cancellationToken) is (true, var identifier)
            ? identifier
            : await base.GetApplicationIdAsync(token, cancellationToken);

    public override async ValueTask<string?> GetAuthorizationIdAsync(OpenIddictEntityFrameworkCoreToken token, CancellationToken cancellationToken) =>
        await LinkAsync(token, AuthorizationKey, cancellationToken) is (true, var identifier)
            ? identifier
            : await base.GetAuthorizationIdAsync(token, cancellationToken);

    public override async ValueTask CreateAsync(OpenIddictEntityFrameworkCoreToken token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        var context = await Context.GetDbContextAsync(cancellationToken);
        var entry = context.Add(token);
        if (_links.TryGetValue(token, out var links))
        {
            foreach (var (property, value) in links)
            {
                entry.Property(property).CurrentValue = value;
            }

            _links.Remove(token);
        }

        if (batch.IsOpen)
        {
            batch.Added();
            return;
        }

        await context.SaveChangesAsync(cancellationToken);
    }

    /// <summary>
    /// A row still waiting for the batch is complete as it is: its changes go out with the insert. A row this context
    /// read is written as EF Core sees it changed, where the stock store marks every column modified and so rewrites
    /// the whole row, encrypted payload and indexed columns included. The concurrency check is the same (the old
    /// concurrency token in the WHERE clause), and so is its failure: OpenIddict's
    /// <see cref="OpenIddictExceptions.ConcurrencyException"/>. Redemptions do not come here
    /// (<see cref="TokenManager.TryRedeemAsync"/>).
    /// </summary>
    public override async ValueTask UpdateAsync(OpenIddictEntityFrameworkCoreToken token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        var context = await Context.GetDbContextAsync(cancellationToken);
        var entry = context.Entry(token);
        if (entry.State == EntityState.Added)
        {
            token.ConcurrencyToken = Guid.NewGuid().ToString();
            return;
        }

        if (entry.State is not (EntityState.Unchanged or EntityState.Modified))
        {
            await base.UpdateAsync(token, cancellationToken);
            return;
        }

        token.ConcurrencyToken = Guid.NewGuid().ToString();
        try
        {
            await context.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException exception)
        {
            // The failed change must not stay tracked: the sign-in's batch would otherwise write it with its tokens.
            entry.State = EntityState.Unchanged;
            if (exception is DbUpdateConcurrencyException)
            {
                throw new OpenIddictExceptions.ConcurrencyException(
                    "The token was concurrently updated and cannot be persisted in its current state. Reload the token and retry.", exception);
            }

            throw;
        }
    }

    /// <summary>A row waiting for the batch is found too (OpenIddict reads a code back to attach its payload).</summary>
    public override async ValueTask<OpenIddictEntityFrameworkCoreToken?> FindByIdAsync(string identifier, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(identifier);
        var context = await Context.GetDbContextAsync(cancellationToken);
        if (batch.IsOpen
            && context.Set<OpenIddictEntityFrameworkCoreToken>().Local.FindEntry(identifier) is { State: EntityState.Added } entry)
        {
            return entry.Entity;
        }

        return Tracked(context, token => token.Id == identifier) ?? await ById.For(context)(context, identifier, cancellationToken);
    }

    /// <summary>The lookup of every code and refresh token presented to the token endpoint.</summary>
    public override async ValueTask<OpenIddictEntityFrameworkCoreToken?> FindByReferenceIdAsync(string identifier, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(identifier);
        var context = await Context.GetDbContextAsync(cancellationToken);
        return Tracked(context, token => string.Equals(token.ReferenceId, identifier, StringComparison.Ordinal))
            ?? await ByReferenceId.For(context)(context, identifier, cancellationToken);
    }

    /// <summary>
    /// A token the context already tracks, as the stock store looks for one first, but without the detect-changes pass
    /// over every tracked entity that <c>ChangeTracker.Entries</c> starts with: the match reads the entities' own
    /// values, which that pass does not change.
    /// </summary>
    private static OpenIddictEntityFrameworkCoreToken? Tracked(DbContext context, Func<OpenIddictEntityFrameworkCoreToken, bool> match)
    {
        using var _ = WithoutDetectChanges(context);
        foreach (var entry in context.ChangeTracker.Entries<OpenIddictEntityFrameworkCoreToken>())
        {
            if (match(entry.Entity))
            {
                return entry.Entity;
            }
        }

        return null;
    }

    /// <summary>
    /// The token's entry, without the detect-changes pass <c>DbContext.Entry</c> starts with (it compares every value
    /// of the token, its payload included, with the snapshot taken when it was read): the links are read and set
    /// through the entry's foreign keys, which this store alone sets, and whose values do not depend on that pass.
    /// OpenIddict asks for a new token's client and authorization several times per token.
    /// </summary>
    private static EntityEntry<OpenIddictEntityFrameworkCoreToken> EntryOf(DbContext context, OpenIddictEntityFrameworkCoreToken token)
    {
        using var _ = WithoutDetectChanges(context);
        return context.Entry(token);
    }

    private static DetectChangesPause WithoutDetectChanges(DbContext context) => new(context.ChangeTracker);

    private readonly struct DetectChangesPause : IDisposable
    {
        private readonly ChangeTracker _tracker;
        private readonly bool _was;

        public DetectChangesPause(ChangeTracker tracker)
        {
            _tracker = tracker;
            _was = tracker.AutoDetectChangesEnabled;
            tracker.AutoDetectChangesEnabled = false;
        }

        public void Dispose() => _tracker.AutoDetectChangesEnabled = _was;
    }

    /// <summary>The link as the context tracks it (or as set on a token not yet added); not known for a detached token.</summary>
    private async ValueTask<(bool Known, string? Identifier)> LinkAsync(
        OpenIddictEntityFrameworkCoreToken token, string property, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (_links.TryGetValue(token, out var links))
        {
            return (true, links.GetValueOrDefault(property));
        }

        var entry = EntryOf(await Context.GetDbContextAsync(cancellationToken), token);
        return entry.State == EntityState.Detached ? (false, null) : (true, entry.Property<string?>(property).CurrentValue);
    }

    private void Link(DbContext context, OpenIddictEntityFrameworkCoreToken token, string property, string? identifier)
    {
        var entry = EntryOf(context, token);
        if (entry.State == EntityState.Detached)
        {
            _links.GetOrCreateValue(token)[property] = identifier;
        }
        else
        {
            entry.Property(property).CurrentValue = identifier;
        }
    }
}
