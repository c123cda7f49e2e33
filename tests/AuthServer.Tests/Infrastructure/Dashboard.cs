using System.Net;
using System.Net.Http.Headers;

namespace AuthServer.Tests.Infrastructure;

/// <summary>The API keys page as a developer uses it.</summary>
public static class Dashboard
{
    public static async Task<string> CreateKeyAsync(
        TestBrowser browser, string name = "test key", string[]? scopes = null, int? lifetimeDays = null)
    {
        var (response, page) = await browser.GetPageAsync("/dashboard/keys");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var fields = new List<KeyValuePair<string, string>>
        {
            new("__RequestVerificationToken", page.QuerySelector("#create-key input[name=__RequestVerificationToken]")!.GetAttribute("value")!),
            new("Name", name),
        };
        fields.AddRange((scopes ?? ["read"]).Select(scope => new KeyValuePair<string, string>("Scopes", scope)));
        if (lifetimeDays is not null)
        {
            fields.Add(new("LifetimeDays", lifetimeDays.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        var created = await browser.Http.PostAsync("/dashboard/keys?handler=Create", new FormUrlEncodedContent(fields));
        var (_, result) = await browser.ParseAsync(created);
        Assert.True(created.Headers.CacheControl?.NoStore, "A page with a secret must not be stored.");
        return result.QuerySelector("#new-key")?.TextContent
            ?? throw new InvalidOperationException("No key shown: " + result.QuerySelector(".errors")?.TextContent);
    }

    public static async Task<HttpResponseMessage> CallAsync(HttpClient api, string path, string credential)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential);
        return await api.SendAsync(request);
    }
}
