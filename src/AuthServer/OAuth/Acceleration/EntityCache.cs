using System.Linq.Expressions;
using AuthServer.Core;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AuthServer.OAuth.Acceleration;

/// <summary>
/// A node-wide cache of the OpenIddict clients and scopes that every token request reads. OpenIddict's own entity
/// cache lives only as long as one request (its entities belong to that request's DbContext), so without this every
/// token, introspection and authorization request would query the client and its scopes again. Entries are detached
/// copies, and each caller gets its own copy, so nothing a request changes or EF Core tracks leaks into another
/// request. A change made through this node's managers invalidates the entry at once, and on the other nodes when
/// they share a channel (<see cref="CacheInvalidations"/>); otherwise they see it within <see cref="CachingOptions.Clients"/>.
/// </summary>
internal sealed class EntityCache(IOptions<CachingOptions> caching, CacheInvalidations invalidations) : IDisposable
{
    private readonly NodeCache<object?> _cache = new("clients", sizeLimit: 10_000, invalidations);

    /// <summary>Returns a copy of the cached value, or loads, caches and returns a copy of a fresh one.</summary>
    public async ValueTask<T?> GetOrLoadAsync<T>(string key, Func<ValueTask<T?>> load)
        where T : class
    {
        if (_cache.TryGet(key, out var cached) && cached is T entity)
        {
            return Copier<T>.Copy(entity);
        }

        var generation = _cache.Generation;
        var value = await load();
        if (value is not null)
        {
            _cache.Set(key, Copier<T>.Copy(value), generation, caching.Value.Clients);
        }

        return value;
    }

    /// <summary>A list of entities (scopes by name): cached as copies, handed out as copies.</summary>
    public async ValueTask<IReadOnlyList<T>> GetOrLoadListAsync<T>(string key, Func<ValueTask<IReadOnlyList<T>>> load)
        where T : class
    {
        if (_cache.TryGet(key, out var cached) && cached is IReadOnlyList<T> list)
        {
            return [.. list.Select(Copier<T>.Copy)];
        }

        var generation = _cache.Generation;
        var values = await load();
        _cache.Set(key, (IReadOnlyList<T>)[.. values.Select(Copier<T>.Copy)], generation, caching.Value.Clients);
        return values;
    }

    /// <summary>
    /// The instance to change or delete. A copy handed out by this cache is not tracked by the request's context, and
    /// OpenIddict's checks on the way (a unique client_id, say) load the tracked row into that context; so the row is
    /// loaded first and the copy's values go onto it.
    /// After the change the copy is brought up to date (new concurrency token included), so a caller that changes it
    /// again works on current values.
    /// </summary>
    public static async ValueTask ChangeAsync<T>(DbContext context, T entity, Func<ValueTask<T?>> load, Func<T, ValueTask> change)
        where T : class
    {
        if (context.Entry(entity).State != EntityState.Detached || await load() is not { } tracked || ReferenceEquals(tracked, entity))
        {
            await change(entity);
            return;
        }

        context.Entry(tracked).CurrentValues.SetValues(entity);
        await change(tracked);
        Copier<T>.CopyInto(tracked, entity);
    }

    /// <summary>A client changed on this node: read it again, and anything read while this happened.</summary>
    public void Invalidate(string key) => _cache.Invalidate(key);

    /// <summary>A client changed (or was found gone): both of its entries are read again.</summary>
    public void InvalidateClient(string? clientId, string? id)
    {
        _cache.Invalidate("client:" + clientId);
        _cache.Invalidate("client-id:" + id);
    }

    /// <summary>A scope changed: many lists may hold it.</summary>
    public void InvalidateAll() => _cache.InvalidateAll();

    public void Dispose() => _cache.Dispose();

    /// <summary>
    /// Copies an entity's scalar properties (strings and values) into a new instance; navigation collections are
    /// left empty, so no two requests ever share a collection EF Core might fix up.
    /// </summary>
    internal static class Copier<T>
        where T : class
    {
        private static readonly System.Reflection.PropertyInfo[] Scalars = [.. typeof(T).GetProperties()
            .Where(property => property.CanRead && property.CanWrite
                && (property.PropertyType == typeof(string) || property.PropertyType.IsValueType))];

        public static readonly Func<T, T> Copy = BuildCopy();

        /// <summary>Copies the scalar properties of the first argument onto the second.</summary>
        public static readonly Action<T, T> CopyInto = BuildCopyInto();

        private static Func<T, T> BuildCopy()
        {
            var source = Expression.Parameter(typeof(T), "source");
            var bindings = Scalars.Select(property => Expression.Bind(property, Expression.Property(source, property)));
            return Expression.Lambda<Func<T, T>>(Expression.MemberInit(Expression.New(typeof(T)), bindings), source).Compile();
        }

        private static Action<T, T> BuildCopyInto()
        {
            var source = Expression.Parameter(typeof(T), "source");
            var target = Expression.Parameter(typeof(T), "target");
            var assignments = Scalars.Select(property =>
                (Expression)Expression.Assign(Expression.Property(target, property), Expression.Property(source, property)));
            return Expression.Lambda<Action<T, T>>(Expression.Block(assignments), source, target).Compile();
        }
    }
}
