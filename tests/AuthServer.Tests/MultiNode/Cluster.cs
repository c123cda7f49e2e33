using AuthServer.ApiKeys;
using AuthServer.Clients;
using AuthServer.Data;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc.Testing.Handlers;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.MultiNode;

/// <summary>
/// Two nodes of one deployment: each its own host (its own caches, key set and Data Protection state), both on one
/// server database and one Redis. The caches are set to their longest, so a change seen by the other node within a
/// second was told to it through Redis, not found when an entry expired.
/// </summary>
public abstract class Cluster : IAsyncLifetime
{
    public RedisServer Redis { get; } = new();

    public string? SkipReason { get; private set; }

    public ConfiguredAuthServerFactory A { get; private set; } = null!;

    public ConfiguredAuthServerFactory B { get; private set; } = null!;

    /// <summary>The platform API as a resource server (it may introspect), registered once for both nodes.</summary>
    public RegisteredClient ResourceServer { get; private set; } = null!;

    /// <summary>The settings of every node, the database's among them.</summary>
    public Dictionary<string, string?> Settings { get; private set; } = [];

    /// <summary>The database provider, as <c>Database:Provider</c> names it.</summary>
    public abstract string Provider { get; }

    /// <summary>Starts the database server; the reason to skip when it cannot be.</summary>
    protected abstract ValueTask<string?> StartDatabaseAsync();

    /// <summary>A connection string to a new, empty database on the server.</summary>
    public abstract Task<string> NewDatabaseAsync();

    protected abstract ValueTask StopDatabaseAsync();

    public async ValueTask InitializeAsync()
    {
        SkipReason = await StartDatabaseAsync();
        if (SkipReason is not null)
        {
            return;
        }

        await Redis.InitializeAsync();
        if (Redis.SkipReason is not null)
        {
            SkipReason = Redis.SkipReason;
            return;
        }

        Settings = NodeSettings(await NewDatabaseAsync());
        A = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), Settings);
        A.StartServer();

        // The first node makes the schema and the first Data Protection key; the second starts on them, as a node
        // added to a running deployment does.
        using (var browser = A.CreateBrowser())
        {
            await browser.GetPageAsync("/account/login");
        }

        ResourceServer = await A.ResourceServerAsync();
        B = new ConfiguredAuthServerFactory(TestDatabase.NewSqlitePath(), Settings);
        B.StartServer();
    }

    /// <summary>What every node of the deployment is given: the database, Redis, and the caches at their longest.</summary>
    public Dictionary<string, string?> NodeSettings(string connectionString) => new()
    {
        ["Database:Provider"] = Provider,
        ["Database:ConnectionString"] = connectionString,
        ["Database:MigrateOnStartup"] = "true",
        ["Email:PickupDirectory"] = _mailDirectory,
        ["RateLimits:Redis"] = Redis.ConnectionString,
        ["RateLimits:Tiers:free"] = "1000",
        ["RateLimits:Tiers:pro"] = "2000",
        ["RateLimits:KeyFailuresPerMinute"] = "100000",
        ["RateLimits:TokenFailuresPerMinute"] = "100000",
        ["RateLimits:SignInFailuresPerMinute"] = "100000",
        ["Caching:ApiKeys"] = "00:01:00",
        ["Caching:Clients"] = "00:05:00",
        ["Caching:TokenStatus"] = "00:01:00",
        ["Caching:Introspection"] = "00:05:00",
        ["Caching:Payers"] = "00:10:00",
        ["OAuth:RefreshTokenReuseLeeway"] = "00:00:00",
        ["Usage:FlushInterval"] = "00:05:00",
        ["Usage:FailureBurst"] = "5",
        ["Usage:DistinctIps"] = "3",
    };

    /// <summary>A browser signed in nowhere yet, whose cookies are <paramref name="cookies"/>: share them between nodes.</summary>
    public static TestBrowser BrowserOn(AuthServerFactory node, System.Net.CookieContainer cookies) =>
        new(node.CreateDefaultClient(new Uri("https://localhost"), new CookieContainerHandler(cookies))) { Mailbox = node.Mailbox };

    // One folder for the mail of every node: whichever node sends a message, the tests find it there.
    private readonly string _mailDirectory = Path.Combine(Path.GetTempPath(), "authserver-mail-" + Guid.NewGuid().ToString("N"));

    /// <summary>A new account and an API key for it, made through node A.</summary>
    public async Task<(string UserId, CreatedApiKey Key)> NewKeyAsync()
    {
        await using var scope = A.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        var email = OAuthFlow.NewEmail();
        var user = new ApplicationUser { UserName = email, Email = email };
        Assert.True((await users.CreateAsync(user, OAuthFlow.Password)).Succeeded);
        var key = await scope.ServiceProvider.GetRequiredService<ApiKeyService>()
            .CreateAsync(user.Id, "cluster", ["read"], null, user.Id, CancellationToken.None);
        return (user.Id, key);
    }

    public async ValueTask DisposeAsync()
    {
        if (A is not null)
        {
            await A.DisposeAsync();
        }

        if (B is not null)
        {
            await B.DisposeAsync();
        }

        await Redis.DisposeAsync();
        await StopDatabaseAsync();
        GC.SuppressFinalize(this);
    }
}

/// <summary>The two nodes on a PostgreSQL server the fixture starts.</summary>
public sealed class PostgreSqlCluster : Cluster
{
    private readonly PostgreSqlServer _server = new();

    public override string Provider => "PostgreSql";

    public override Task<string> NewDatabaseAsync() => _server.NewDatabaseAsync();

    protected override async ValueTask<string?> StartDatabaseAsync()
    {
        await _server.InitializeAsync();
        return _server.SkipReason;
    }

    protected override ValueTask StopDatabaseAsync() => _server.DisposeAsync();
}

/// <summary>
/// The two nodes on the SQL Server named by <c>AUTHSERVER_TEST_SQLSERVER</c> (a connection string with the right to
/// create databases); each fixture makes databases of its own there. Without it the tests skip and say so.
/// </summary>
public sealed class SqlServerCluster : Cluster
{
    public const string Variable = "AUTHSERVER_TEST_SQLSERVER";

    public override string Provider => "SqlServer";

    public override Task<string> NewDatabaseAsync()
    {
        // EF Core's migration creates the database named in the connection string when it does not exist.
        var builder = new Microsoft.Data.SqlClient.SqlConnectionStringBuilder(Environment.GetEnvironmentVariable(Variable))
        {
            InitialCatalog = $"authserver_cluster_{Guid.NewGuid():N}",
        };
        return Task.FromResult(builder.ConnectionString);
    }

    protected override ValueTask<string?> StartDatabaseAsync() => ValueTask.FromResult(
        string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable))
            ? $"{Variable} is not set (a SQL Server connection string); no SQL Server can run on this machine."
            : null);

    protected override ValueTask StopDatabaseAsync() => ValueTask.CompletedTask;
}
