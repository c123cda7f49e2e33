using System.Security.Claims;
using AuthServer.Data;
using AuthServer.OAuth.Acceleration;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.Accounts;

/// <summary>The compiled reads of <see cref="AccountUserStore"/> answer what Identity's stock EF Core store answers.</summary>
public sealed class AccountUserStoreTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    [Fact]
    public async Task Reads_AnswerLikeTheStockStore()
    {
        await using var scope = factory.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        var roles = scope.ServiceProvider.GetRequiredService<RoleManager<IdentityRole>>();
        Assert.IsType<AccountUserStore>(scope.ServiceProvider.GetRequiredService<IUserStore<ApplicationUser>>());

        var email = $"store-{Guid.NewGuid():N}@example.com";
        var user = new ApplicationUser { UserName = email, Email = email };
        Assert.True((await users.CreateAsync(user, "a long enough password")).Succeeded);
        foreach (var role in new[] { "store-test-a", "store-test-b" })
        {
            if (!await roles.RoleExistsAsync(role))
            {
                Assert.True((await roles.CreateAsync(new IdentityRole(role))).Succeeded);
            }

            Assert.True((await users.AddToRoleAsync(user, role)).Succeeded);
        }

        Assert.True((await users.AddClaimAsync(user, new Claim("team", "platform"))).Succeeded);

        // Both stores on fresh contexts, so neither answers from what the other (or the writes above) tracked.
        await using var ours = factory.Services.CreateAsyncScope();
        await using var stock = factory.Services.CreateAsyncScope();
        var compiled = (AccountUserStore)ours.ServiceProvider.GetRequiredService<IUserStore<ApplicationUser>>();
        using var reference = new UserStore<ApplicationUser, IdentityRole, AuthDbContext>(stock.ServiceProvider.GetRequiredService<AuthDbContext>());

        var normalizedName = users.NormalizeName(email);
        var normalizedEmail = users.NormalizeEmail(email);
        Assert.Equal((await reference.FindByIdAsync(user.Id))!.Email, (await compiled.FindByIdAsync(user.Id))!.Email);
        Assert.Equal((await reference.FindByNameAsync(normalizedName))!.Id, (await compiled.FindByNameAsync(normalizedName))!.Id);
        Assert.Equal((await reference.FindByEmailAsync(normalizedEmail))!.Id, (await compiled.FindByEmailAsync(normalizedEmail))!.Id);
        Assert.Null(await compiled.FindByIdAsync(Guid.NewGuid().ToString()));
        Assert.Null(await compiled.FindByNameAsync("NOBODY@EXAMPLE.COM"));
        Assert.Null(await compiled.FindByEmailAsync("NOBODY@EXAMPLE.COM"));

        var found = (await compiled.FindByIdAsync(user.Id))!;
        Assert.Equal(
            (await reference.GetRolesAsync((await reference.FindByIdAsync(user.Id))!)).Order(StringComparer.Ordinal),
            (await compiled.GetRolesAsync(found)).Order(StringComparer.Ordinal));
        Assert.Equal(["store-test-a", "store-test-b"], (await compiled.GetRolesAsync(found)).Order(StringComparer.Ordinal));
        var claim = Assert.Single(await compiled.GetClaimsAsync(found));
        Assert.Equal(("team", "platform"), (claim.Type, claim.Value));

        // An account read by id is tracked, as the stock store's is: Identity writes it back on sign-in failures.
        found.AccessFailedCount = 1;
        Assert.True((await ours.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>().UpdateAsync(found)).Succeeded);
        await using var check = factory.Services.CreateAsyncScope();
        Assert.Equal(1, (await check.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>().FindByIdAsync(user.Id))!.AccessFailedCount);
    }
}
