using System.Net;
using System.Net.Http.Headers;
using AngleSharp.Html.Dom;
using AngleSharp.Html.Parser;

namespace AuthServer.Tests.Infrastructure;

/// <summary>Drives the server's pages the way a browser does: GET a page, fill its form, POST it with the
/// antiforgery token the page carried.</summary>
public sealed class TestBrowser(HttpClient client) : IDisposable
{
    private static readonly HtmlParser Parser = new();
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IHtmlDocument, string> Addresses = [];

    public HttpClient Http { get; } = client;

    /// <summary>Where the mail of the server this browser talks to arrives (to follow the links it holds).</summary>
    public IMailbox? Mailbox { get; set; }

    public async Task<(HttpResponseMessage Response, IHtmlDocument Page)> GetPageAsync(string url)
    {
        var response = await Http.GetAsync(url);
        var (_, document) = await ParseAsync(response);
        Addresses.AddOrUpdate(document, url);
        return (response, document);
    }

    /// <summary>Parses a response as a page whose forms post back to the address that was requested.</summary>
#pragma warning disable CA1822 // An instance method, like the other steps a browser takes.
    public async Task<(HttpResponseMessage Response, IHtmlDocument Page)> ParseAsync(HttpResponseMessage response)
    {
        var html = await response.Content.ReadAsStringAsync();
        var document = await Parser.ParseDocumentAsync(html);
        if (response.RequestMessage?.RequestUri is { } uri)
        {
            Addresses.AddOrUpdate(document, uri.PathAndQuery);
        }

        return (response, document);
    }
#pragma warning restore CA1822

    /// <summary>Submits the page's form (the first one matching <paramref name="formSelector"/>) with its hidden
    /// fields, the values given, and the submit button named.</summary>
    public async Task<HttpResponseMessage> SubmitAsync(
        IHtmlDocument page,
        IReadOnlyDictionary<string, string> values,
        string formSelector = "main form",
        string? submitButton = null)
    {
        var form = page.QuerySelector(formSelector) as IHtmlFormElement
            ?? throw new InvalidOperationException($"No form '{formSelector}' on the page: {page.Title}");

        var fields = new List<KeyValuePair<string, string>>();
        foreach (var input in form.QuerySelectorAll("input[type=hidden]").OfType<IHtmlInputElement>())
        {
            if (!values.ContainsKey(input.Name ?? ""))
            {
                fields.Add(new(input.Name!, input.Value));
            }
        }

        fields.AddRange(values);
        if (submitButton is not null)
        {
            var button = form.QuerySelector($"button[name='{submitButton}']") as IHtmlButtonElement
                ?? throw new InvalidOperationException($"No button '{submitButton}' in the form.");
            fields.Add(new(button.Name!, button.Value));
        }

        // A form without an action posts back to the page's own address, as a browser does.
        var action = form.GetAttribute("action");
        var target = string.IsNullOrEmpty(action)
            ? (Addresses.TryGetValue(page, out var address) ? address : throw new InvalidOperationException("Unknown page address."))
            : action;
        return await Http.PostAsync(target, new FormUrlEncodedContent(fields));
    }

    public async Task<HttpResponseMessage> RegisterAsync(string email, string password, string? name = null)
    {
        var (_, page) = await GetPageAsync("/account/register");
        var response = await SubmitAsync(page, new Dictionary<string, string>
        {
            ["Input.Email"] = email,
            ["Input.Name"] = name ?? "",
            ["Input.Password"] = password,
            ["Input.ConfirmPassword"] = password,
        });
        return response;
    }

    public async Task<HttpResponseMessage> SignInAsync(string email, string password, string? returnUrl = null)
    {
        var (_, page) = await GetPageAsync("/account/login" + (returnUrl is null ? "" : "?ReturnUrl=" + Uri.EscapeDataString(returnUrl)));
        return await SubmitAsync(page, new Dictionary<string, string>
        {
            ["Input.Email"] = email,
            ["Input.Password"] = password,
        });
    }

    public static Uri Location(HttpResponseMessage response)
    {
        if (response.StatusCode is not (HttpStatusCode.Redirect or HttpStatusCode.SeeOther))
        {
            var body = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            Assert.Fail($"Expected a redirect, got {(int)response.StatusCode}: {body[..Math.Min(body.Length, 2000)]}");
        }

        return response.Headers.Location!;
    }

    public void UseBearer(string token) => Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

    public void Dispose() => Http.Dispose();
}
