using System.Security.Claims;
using AuthServer.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace AuthServer.OAuth.Acceleration;

/// <summary>
/// ASP.NET Core Identity's EF Core user store, with the reads of every sign-in and every authorize, consent and token
/// request as compiled queries: the account by id, user name or email, and its roles and claims. The stock store
/// builds each of them as a LINQ expression on every call, which EF Core then walks to extract its parameters and
/// look up its cached plan. The queries, and what is tracked, are the stock store's (see
/// <see cref="FindByIdAsync"/> for the one difference).
/// </summary>
internal sealed class AccountUserStore(AuthDbContext context, IdentityErrorDescriber? describer = null)
    : UserStore<ApplicationUser, IdentityRole, AuthDbContext>(context, describer)
{
    private static readonly PerModel<Func<AuthDbContext, string, CancellationToken, Task<ApplicationUser?>>> ById = new(() =>
        EF.CompileAsyncQuery((AuthDbContext db, string id, CancellationToken _) =>
            db.Users.FirstOrDefault(user => user.Id == id)));

    private static readonly PerModel<Func<AuthDbContext, string, CancellationToken, Task<ApplicationUser?>>> ByName = new(() =>
        EF.CompileAsyncQuery((AuthDbContext db, string normalizedUserName, CancellationToken _) =>
            db.Users.FirstOrDefault(user => user.NormalizedUserName == normalizedUserName)));

    private static readonly PerModel<Func<AuthDbContext, string, CancellationToken, Task<ApplicationUser?>>> ByEmail = new(() =>
        EF.CompileAsyncQuery((AuthDbContext db, string normalizedEmail, CancellationToken _) =>
            db.Users.SingleOrDefault(user => user.NormalizedEmail == normalizedEmail)));

    private static readonly PerModel<Func<AuthDbContext, string, IAsyncEnumerable<string>>> RoleNames = new(() =>
        EF.CompileAsyncQuery((AuthDbContext db, string userId) =>
            from userRole in db.UserRoles
            join role in db.Roles on userRole.RoleId equals role.Id
            where userRole.UserId == userId
            select role.Name!));

    private static readonly PerModel<Func<AuthDbContext, string, IAsyncEnumerable<IdentityUserClaim<string>>>> ClaimRows = new(() =>
        EF.CompileAsyncQuery((AuthDbContext db, string userId) =>
            db.UserClaims.AsNoTracking().Where(claim => claim.UserId == userId)));

    public override Task<ApplicationUser?> FindByIdAsync(string userId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(userId);

        // Where the stock store's DbSet.FindAsync answers an account this context already tracks without a query,
        // this asks the database again, and EF Core's identity resolution still hands back the tracked instance.
        return ById.For(Context)(Context, userId, cancellationToken);
    }

    public override Task<ApplicationUser?> FindByNameAsync(string normalizedUserName, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        return ByName.For(Context)(Context, normalizedUserName, cancellationToken);
    }

    public override Task<ApplicationUser?> FindByEmailAsync(string normalizedEmail, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        return ByEmail.For(Context)(Context, normalizedEmail, cancellationToken);
    }

    public override async Task<IList<string>> GetRolesAsync(ApplicationUser user, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(user);

        return await RoleNames.For(Context)(Context, user.Id).ToListAsync(cancellationToken);
    }

    public override async Task<IList<Claim>> GetClaimsAsync(ApplicationUser user, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(user);

        return await ClaimRows.For(Context)(Context, user.Id).Select(row => row.ToClaim()).ToListAsync(cancellationToken);
    }
}
