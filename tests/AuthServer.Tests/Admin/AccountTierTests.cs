using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuthServer.Data;
using AuthServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace AuthServer.Tests.Admin;

/// <summary>Account tiers: new accounts are free; admins change them through the API and the CLI.</summary>
public sealed class AccountTierTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    [Fact]
    public async Task Tier_NewAccountIsFree_AdminSetsProThenEnterprise()
    {
        var email = OAuthFlow.NewEmail();
        (await OAuthFlow.SignedUpBrowserAsync(factory, email)).Dispose();
        var id = await IdOfAsync(email);
        Assert.Equal("free", (await UserAsync(id)).Tier);
        using var admin = await factory.CreateAdminClientAsync();

        using var pro = await admin.PutAsJsonAsync($"/admin/accounts/{id}/tier", new { tier = "pro" });
        Assert.Equal(HttpStatusCode.OK, pro.StatusCode);
        Assert.Equal("pro", (await UserAsync(id)).Tier);

        using var enterprise = await admin.PutAsJsonAsync($"/admin/accounts/{id}/tier", new { tier = "enterprise", requests_per_minute = 5000 });
        using var body = JsonDocument.Parse(await enterprise.Content.ReadAsStringAsync());
        Assert.Equal(5000, body.RootElement.GetProperty("requests_per_minute").GetInt32());
        Assert.Equal(5000, (await UserAsync(id)).RequestsPerMinute);
    }

    [Theory]
    [InlineData("""{"tier":"platinum"}""")]
    [InlineData("""{"tier":"enterprise"}""")]
    [InlineData("""{"tier":"enterprise","requests_per_minute":0}""")]
    [InlineData("""{"tier":"free","requests_per_minute":10}""")]
    [InlineData("""{}""")]
    public async Task Tier_Invalid_IsRefused(string json)
    {
        var email = OAuthFlow.NewEmail();
        (await OAuthFlow.SignedUpBrowserAsync(factory, email)).Dispose();
        using var admin = await factory.CreateAdminClientAsync();

        using var response = await admin.PutAsync(
            $"/admin/accounts/{await IdOfAsync(email)}/tier", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Tier_UnknownAccount_Is404()
    {
        using var admin = await factory.CreateAdminClientAsync();

        using var response = await admin.PutAsJsonAsync("/admin/accounts/nobody/tier", new { tier = "pro" });

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task UsersSetTier_Cli_ChangesTheTier()
    {
        var path = TestDatabase.NewSqlitePath();
        Assert.Equal(0, (await CliRunner.RunAsync(path, "users", "create", "--email", "tiered@example.com", "--password", OAuthFlow.Password)).ExitCode);

        var result = await CliRunner.RunAsync(path, "users", "set-tier", "--email", "tiered@example.com", "--tier", "enterprise", "--requests-per-minute", "2500");
        var bad = await CliRunner.RunAsync(path, "users", "set-tier", "--email", "tiered@example.com", "--tier", "gold");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("\"requests_per_minute\": 2500", result.Stdout, StringComparison.Ordinal);
        Assert.NotEqual(0, bad.ExitCode);
        Assert.StartsWith("error: ", bad.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientsSetTier_Cli_SetsAnAdminClientsTier_RefusesUnknownClients()
    {
        var path = TestDatabase.NewSqlitePath();
        var created = await CliRunner.RunAsync(path, "clients", "create", "--name", "Batch", "--grant", "client_credentials");
        Assert.True(created.ExitCode == 0, created.Stderr);
        var clientId = System.Text.Json.JsonDocument.Parse(created.Stdout).RootElement.GetProperty("client_id").GetString()!;

        var result = await CliRunner.RunAsync(path, "clients", "set-tier", "--client-id", clientId, "--tier", "pro");
        var unknown = await CliRunner.RunAsync(path, "clients", "set-tier", "--client-id", "nobody", "--tier", "pro");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("\"tier\": \"pro\"", result.Stdout, StringComparison.Ordinal);
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.StartsWith("error: No client", unknown.Stderr, StringComparison.Ordinal);
    }

    private async Task<string> IdOfAsync(string email)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        return (await scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>().FindByEmailAsync(email))!.Id;
    }

    private async Task<ApplicationUser> UserAsync(string id)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        return (await scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>().FindByIdAsync(id))!;
    }
}
