using AuthServer.Data;
using AuthServer.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace AuthServer.Tests.Data;

/// <summary>Migrations of every provider kept in step with the model, checked without a database server.</summary>
public sealed class MigrationTests
{
    [Fact]
    public void Sqlite_Model_HasNoChangesWithoutAMigration()
    {
        using var context = new AuthDbContext(AuthServer.Migrations.Sqlite.DesignTimeFactory.CreateOptions());

        Assert.False(context.Database.HasPendingModelChanges(), "Run ./migrations/add.sh <Name>: the model changed.");
    }

    [Fact]
    public void SqlServer_Model_HasNoChangesWithoutAMigration()
    {
        using var context = new AuthDbContext(AuthServer.Migrations.SqlServer.DesignTimeFactory.CreateOptions());

        Assert.False(context.Database.HasPendingModelChanges(), "Run ./migrations/add.sh <Name>: the model changed.");
    }

    [Fact]
    public void PostgreSql_Model_HasNoChangesWithoutAMigration()
    {
        using var context = new AuthDbContext(AuthServer.Migrations.PostgreSql.DesignTimeFactory.CreateOptions());

        Assert.False(context.Database.HasPendingModelChanges(), "Run ./migrations/add.sh <Name>: the model changed.");
    }

    [Fact]
    public void BothProviders_HaveMigrationsOfTheSameNames()
    {
        using var sqlite = new AuthDbContext(AuthServer.Migrations.Sqlite.DesignTimeFactory.CreateOptions());
        using var sqlServer = new AuthDbContext(AuthServer.Migrations.SqlServer.DesignTimeFactory.CreateOptions());

        static IEnumerable<string> Names(DbContext context) =>
            context.Database.GetMigrations().Select(id => id[(id.IndexOf('_', StringComparison.Ordinal) + 1)..]);

        Assert.Equal(Names(sqlite), Names(sqlServer));
    }

    [Fact]
    public async Task Sqlite_EmptyFile_MigratesToTheFullSchema()
    {
        var options = new DbContextOptionsBuilder<AuthDbContext>()
            .UseSqlite($"Data Source={TestDatabase.NewSqlitePath()}", sqlite => sqlite.MigrationsAssembly("AuthServer.Migrations.Sqlite"))
            .Options;
        await using var context = new AuthDbContext(options);

        await context.Database.MigrateAsync(TestContext.Current.CancellationToken);

        Assert.Empty(await context.Database.GetPendingMigrationsAsync(TestContext.Current.CancellationToken));
        Assert.Equal(0, await context.ServerKeys.CountAsync(TestContext.Current.CancellationToken));
        Assert.Equal(0, await context.Set<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreToken>().CountAsync(TestContext.Current.CancellationToken));
        Assert.Equal(0, await context.Users.CountAsync(TestContext.Current.CancellationToken));
        Assert.Equal(0, await context.DataProtectionKeys.CountAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public void SqlServer_IdempotentScript_ParsesWithoutErrors()
    {
        using var context = new AuthDbContext(AuthServer.Migrations.SqlServer.DesignTimeFactory.CreateOptions());
        var script = context.GetService<IMigrator>().GenerateScript(options: MigrationsSqlGenerationOptions.Idempotent);

        var parser = new TSql160Parser(initialQuotedIdentifiers: true);
        using var reader = new StringReader(script);
        var fragment = parser.Parse(reader, out var errors);

        Assert.True(errors.Count == 0, string.Join(Environment.NewLine, errors.Select(e => $"line {e.Line}: {e.Message}")));
        var statements = ((TSqlScript)fragment).Batches.SelectMany(batch => batch.Statements).ToList();
        Assert.Contains(statements, statement => statement is IfStatement);
        Assert.Contains("CREATE TABLE [OpenIddictTokens]", script, StringComparison.Ordinal);
        Assert.Contains("CREATE TABLE [ServerKeys]", script, StringComparison.Ordinal);
    }
}
