using System.Net;
using System.Text.Json;
using AuthServer.Clients;
using AuthServer.Data;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.Cli;

/// <summary>The verbs are a contract: scripts call them exactly as written in the README.</summary>
public sealed class CommandLineTests
{
    [Fact]
    public async Task ClientsCreate_PrintsCredentialsThatCompleteTheFlow()
    {
        var path = TestDatabase.NewSqlitePath();

        var result = await CliRunner.RunAsync(
            path, "clients", "create", "--name", "CLI App", "--redirect-uri", "https://app.example/callback",
            "--scope", "openid", "profile", "read", "--scope", "offline_access");

        Assert.True(result.ExitCode == 0, result.Stderr);
        using var json = JsonDocument.Parse(result.Stdout);
        var client = new RegisteredClient(
            json.RootElement.GetProperty("client_id").GetString()!,
            json.RootElement.GetProperty("client_secret").GetString());
        Assert.Equal("openid profile read offline_access", json.RootElement.GetProperty("scope").GetString());
        Assert.Equal("client_secret_basic", json.RootElement.GetProperty("token_endpoint_auth_method").GetString());

        // The printed credentials work against the server on the same database.
        await using var factory = new ConfiguredAuthServerFactory(path);
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);
        var pkce = Pkce.Create();
        var code = await OAuthFlow.GetCodeAsync(browser, OAuthFlow.AuthorizeUrl(client.ClientId, "https://app.example/callback", "openid read offline_access", pkce));
        using var api = factory.CreateApiClient();
        var tokens = await OAuthFlow.RedeemAsync(api, client, code, pkce.Verifier);
        Assert.Equal(HttpStatusCode.OK, tokens.Status);
    }

    [Fact]
    public async Task ClientsCreate_Public_PrintsNoSecret()
    {
        var result = await CliRunner.RunAsync(
            TestDatabase.NewSqlitePath(), "clients", "create", "--name", "SPA", "--redirect-uri", "http://127.0.0.1:5173/cb", "--public");

        Assert.True(result.ExitCode == 0, result.Stderr);
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.False(json.RootElement.TryGetProperty("client_secret", out _));
        Assert.Equal("none", json.RootElement.GetProperty("token_endpoint_auth_method").GetString());
    }

    [Fact]
    public async Task ClientsCreate_ChosenClientId_IsKept_AndTakenOnlyOnce()
    {
        var path = TestDatabase.NewSqlitePath();

        var first = await CliRunner.RunAsync(
            path, "clients", "create", "--name", "Platform API", "--client-id", "platform-api", "--grant", "client_credentials");
        var again = await CliRunner.RunAsync(
            path, "clients", "create", "--name", "Platform API", "--client-id", "platform-api", "--grant", "client_credentials");
        var bad = await CliRunner.RunAsync(path, "clients", "create", "--name", "Bad", "--client-id", "no spaces", "--grant", "client_credentials");

        Assert.True(first.ExitCode == 0, first.Stderr);
        using var json = JsonDocument.Parse(first.Stdout);
        Assert.Equal("platform-api", json.RootElement.GetProperty("client_id").GetString());
        Assert.NotEqual(0, again.ExitCode);
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("client_id", bad.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientsCreate_Admin_GetsATokenThatReachesTheAdminApi()
    {
        var path = TestDatabase.NewSqlitePath();

        var result = await CliRunner.RunAsync(path, "clients", "create", "--name", "Ops", "--admin");

        Assert.True(result.ExitCode == 0, result.Stderr);
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.Equal(["client_credentials"], json.RootElement.GetProperty("grant_types").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("admin", json.RootElement.GetProperty("scope").GetString());
        var admin = new RegisteredClient(
            json.RootElement.GetProperty("client_id").GetString()!, json.RootElement.GetProperty("client_secret").GetString());

        await using var factory = new ConfiguredAuthServerFactory(path);
        using var api = factory.CreateApiClient();
        var tokens = await OAuthFlow.TokenAsync(api, admin, new Dictionary<string, string> { ["grant_type"] = "client_credentials" });
        Assert.Equal(HttpStatusCode.OK, tokens.Status);
        using var keys = await Dashboard.CallAsync(api, "/admin/accounts/nobody/keys", tokens.AccessToken);
        Assert.Equal(HttpStatusCode.OK, keys.StatusCode);

        // A service without the admin scope is turned away.
        var service = await factory.RegisterServiceAsync("read", "write");
        var serviceToken = await OAuthFlow.TokenAsync(api, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials" });
        Assert.Equal(HttpStatusCode.Forbidden, (await Dashboard.CallAsync(api, "/admin/accounts/nobody/keys", serviceToken.AccessToken)).StatusCode);
    }

    [Fact]
    public async Task UsersCreate_Admin_CreatesAnAdminWhoCanSignIn()
    {
        var path = TestDatabase.NewSqlitePath();
        var email = OAuthFlow.NewEmail();

        var result = await CliRunner.RunAsync(path, "users", "create", "--email", email, "--password", OAuthFlow.Password, "--admin");

        Assert.True(result.ExitCode == 0, result.Stderr);
        await using var factory = new ConfiguredAuthServerFactory(path);
        using var browser = factory.CreateBrowser();
        Assert.Equal("/", TestBrowser.Location(await browser.SignInAsync(email, OAuthFlow.Password)).OriginalString);
        await using var scope = factory.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        Assert.True(await users.IsInRoleAsync((await users.FindByEmailAsync(email))!, "admin"));
    }

    [Fact]
    public async Task Migrate_FreshDatabase_AppliesAndReportsUpToDateAfterwards()
    {
        var path = TestDatabase.NewSqlitePath();

        var first = await CliRunner.RunAsync(path, "migrate");
        var second = await CliRunner.RunAsync(path, "migrate");

        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Equal("The database is up to date.", second.Stdout.Trim());
    }

    [Theory]
    [InlineData("clients", "create", "--redirect-uri", "https://app.example/cb")]
    [InlineData("clients", "create", "--name", "App")]
    [InlineData("clients", "create", "--name", "App", "--redirect-uri", "not a uri")]
    [InlineData("clients", "create", "--name", "App", "--redirect-uri", "http://app.example/cb")]
    [InlineData("clients", "create", "--name", "App", "--redirect-uri", "https://app.example/cb#frag")]
    [InlineData("clients", "create", "--name", "App", "--redirect-uri", "https://*.example/cb")]
    [InlineData("clients", "create", "--name", "App", "--redirect-uri", "https://app.example/cb", "--scope", "admin")]
    [InlineData("clients", "create", "--name", "App", "--redirect-uri", "https://app.example/cb", "--bogus")]
    [InlineData("clients", "create", "--name", "Svc", "--grant", "client_credentials", "--public")]
    [InlineData("clients", "create", "--name", "Svc", "--grant", "password")]
    [InlineData("clients", "create", "--name", "Ops", "--admin", "--public")]
    [InlineData("users", "create", "--email", "a@example.com")]
    [InlineData("users", "create", "--email", "a@example.com", "--password", "short")]
    [InlineData("users", "create", "--email", "not-an-email", "--password", "long enough password")]
    [InlineData("users", "frobnicate")]
    public async Task Verbs_BadArguments_ExitNonZeroWithOneLineError(params string[] args)
    {
        var result = await CliRunner.RunAsync(TestDatabase.NewSqlitePath(), args);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Equal("", result.Stdout.Trim());
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, result.Stderr);
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task UsersCreate_DuplicateEmail_FailsTheSecondTime()
    {
        var path = TestDatabase.NewSqlitePath();
        Assert.Equal(0, (await CliRunner.RunAsync(path, "users", "create", "--email", "dup@example.com", "--password", OAuthFlow.Password)).ExitCode);

        var again = await CliRunner.RunAsync(path, "users", "create", "--email", "dup@example.com", "--password", OAuthFlow.Password);

        Assert.Equal(1, again.ExitCode);
        Assert.Contains("already taken", again.Stderr, StringComparison.Ordinal);
    }
}
