using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace AuthServer.OAuth.Acceleration;

/// <summary>
/// A compiled query for each EF Core model it runs against. EF Core binds a compiled query to the model it first ran
/// with, and one process may hold hosts on different providers (the tests run SQLite and PostgreSQL side by side);
/// a deployment has one model, so this is one table lookup per call.
/// </summary>
internal sealed class PerModel<TQuery>(Func<TQuery> compile)
    where TQuery : class
{
    private readonly ConditionalWeakTable<IModel, TQuery> _queries = new();

    public TQuery For(DbContext context) => _queries.GetValue(context.Model, _ => compile());
}
