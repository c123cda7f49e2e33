using System.Net;
using System.Text;
using System.Text.Json;
using AuthServer.Tests.Infrastructure;

namespace AuthServer.Tests.Admin;

/// <summary>
/// Every number a form or an API takes, at its extremes and beyond what its type holds: a form message or a 400 with
/// an error code, never a 500, and nothing changed.
/// </summary>
public sealed class NumericInputTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    public static TheoryData<string> Extremes => ["2147483647", "-1", "-2147483648", "99999999999", "1e9", "x"];

    [Theory]
    [MemberData(nameof(Extremes))]
    public async Task Dashboard_RollGraceHours_OutOfRange_IsAFormMessage_AndTheKeyStays(string graceHours)
    {
        using var developer = await OAuthFlow.SignedUpBrowserAsync(factory);
        var key = await Dashboard.CreateKeyAsync(developer, "kept");
        var (_, page) = await developer.GetPageAsync("/dashboard/keys");
        var keyId = page.QuerySelector("tr[data-key-id]")!.GetAttribute("data-key-id")!;

        var response = await developer.Http.PostAsync($"/dashboard/keys?handler=Roll&id={keyId}", Form(page, ("graceHours", graceHours)));

        await AssertFormErrorAsync(developer, response);
        using var api = factory.CreateApiClient();
        Assert.Equal(HttpStatusCode.OK, (await Dashboard.CallAsync(api, "/v1/models", key)).StatusCode);
        var (_, after) = await developer.GetPageAsync("/dashboard/keys");
        Assert.Single(after.QuerySelectorAll("tr[data-key-id]"));
    }

    [Theory]
    [MemberData(nameof(Extremes))]
    public async Task Dashboard_KeyLifetimeDays_OutOfRange_IsAFormMessage_AndNoKeyIsCreated(string lifetimeDays)
    {
        using var developer = await OAuthFlow.SignedUpBrowserAsync(factory);
        var (_, page) = await developer.GetPageAsync("/dashboard/keys");

        var response = await developer.Http.PostAsync("/dashboard/keys?handler=Create", Form(page, ("Name", "too long"), ("Scopes", "read"), ("LifetimeDays", lifetimeDays)));

        await AssertFormErrorAsync(developer, response);
        var (_, after) = await developer.GetPageAsync("/dashboard/keys");
        Assert.Empty(after.QuerySelectorAll("tr[data-key-id]"));
    }

    [Theory]
    [MemberData(nameof(Extremes))]
    public async Task Dashboard_AppSecretGraceHours_OutOfRange_IsAFormMessage_AndTheSecretStays(string graceHours)
    {
        using var developer = await OAuthFlow.SignedUpBrowserAsync(factory);
        var (_, page) = await developer.GetPageAsync("/dashboard/apps");
        var created = await developer.SubmitAsync(page, new Dictionary<string, string>
        {
            ["Form.Name"] = "Numbers",
            ["Form.RedirectUris"] = "https://app.example/callback",
            ["Form.IsPublic"] = "false",
            ["Form.Scopes"] = "read",
        }, "#create-app");
        var (_, shown) = await developer.ParseAsync(created);
        var clientId = shown.QuerySelector("#client-id")!.TextContent.Trim();
        var secret = shown.QuerySelector("#client-secret")!.TextContent.Trim();

        var response = await developer.Http.PostAsync($"/dashboard/apps?handler=Rotate&id={clientId}", Form(shown, ("graceHours", graceHours)));

        await AssertFormErrorAsync(developer, response);
        using var api = factory.CreateApiClient();
        var introspection = await OAuthFlow.TokenAsync(api, new AuthServer.Clients.RegisteredClient(clientId, secret),
            new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = "not-a-token" });
        Assert.Equal("invalid_grant", introspection.Error); // the client still authenticates with its secret
    }

    [Theory]
    [InlineData("""{"grace_period_seconds":9223372036854775807}""")]
    [InlineData("""{"grace_period_seconds":-1}""")]
    [InlineData("""{"grace_period_seconds":604801}""")]
    [InlineData("""{"grace_period_seconds":1e30}""")]
    [InlineData("""{"grace_period_seconds":"soon"}""")]
    [InlineData("""{"grace_period_seconds":""")]
    public async Task Admin_SecretGracePeriod_OutOfRange_Is400InvalidRequest(string body)
    {
        using var admin = await factory.CreateAdminClientAsync();
        var service = await factory.RegisterServiceAsync("read");

        using var response = await admin.PostAsync($"/admin/clients/{service.ClientId}/secret", Json(body));

        await AssertInvalidRequestAsync(response);
        using var api = factory.CreateApiClient();
        Assert.Equal(HttpStatusCode.OK, (await OAuthFlow.TokenAsync(api, service, new Dictionary<string, string> { ["grant_type"] = "client_credentials" })).Status);
    }

    [Theory]
    [InlineData("""{"tier":"enterprise","requests_per_minute":2147483647}""")]
    [InlineData("""{"tier":"enterprise","requests_per_minute":-2147483648}""")]
    [InlineData("""{"tier":"enterprise","requests_per_minute":99999999999}""")]
    [InlineData("""{"tier":"enterprise","requests_per_minute":1.5}""")]
    [InlineData("""{"tier":"enterprise","requests_per_minute":"many"}""")]
    public async Task Admin_TierRequestsPerMinute_OutOfRange_Is400InvalidRequest(string body)
    {
        using var admin = await factory.CreateAdminClientAsync();
        var service = await factory.RegisterServiceAsync("read");

        using var account = await admin.PutAsync("/admin/accounts/anyone/tier", Json(body));
        using var client = await admin.PutAsync($"/admin/clients/{service.ClientId}/tier", Json(body));

        await AssertInvalidRequestAsync(account);
        await AssertInvalidRequestAsync(client);
    }

    [Theory]
    [InlineData("/admin/audit")]
    [InlineData("/admin/clients")]
    public async Task Admin_Paging_AtAndBeyondTheLimits_IsAnsweredWithoutServerError(string path)
    {
        using var admin = await factory.CreateAdminClientAsync();

        foreach (var (offset, limit) in new[] { ("2147483647", "2147483647"), ("-2147483648", "-2147483648"), ("0", "0") })
        {
            using var response = await admin.GetAsync($"{path}?offset={offset}&limit={limit}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        foreach (var value in new[] { "99999999999", "x" })
        {
            using var response = await admin.GetAsync($"{path}?offset={value}&limit={value}");
            await AssertInvalidRequestAsync(response);
        }
    }

    private static FormUrlEncodedContent Form(AngleSharp.Html.Dom.IHtmlDocument page, params (string Name, string Value)[] fields) =>
        new([
            new("__RequestVerificationToken", page.QuerySelector("input[name=__RequestVerificationToken]")!.GetAttribute("value")!),
            .. fields.Select(field => new KeyValuePair<string, string>(field.Name, field.Value)),
        ]);

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task AssertFormErrorAsync(TestBrowser browser, HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (_, page) = await browser.ParseAsync(response);
        Assert.False(string.IsNullOrWhiteSpace(page.QuerySelector(".errors")?.TextContent), "The page shows no error.");
        Assert.Null(page.QuerySelector("#new-key"));
        Assert.Null(page.QuerySelector("#client-secret"));
    }

    private static async Task AssertInvalidRequestAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_request", body.RootElement.GetProperty("error").GetString());
        Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("error_description").GetString()));
        Assert.DoesNotContain("   at ", body.RootElement.GetRawText(), StringComparison.Ordinal);
    }
}
