using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;

namespace AuthServer.Bench;

/// <summary>A registered OAuth client.</summary>
internal sealed record Client(string Id, string Secret)
{
    public AuthenticationHeaderValue Basic => new(
        "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(Id)}:{Uri.EscapeDataString(Secret)}")));
}

/// <summary>What a person and an app do against AuthServer, step by step, as its pages and endpoints expect it.</summary>
internal static class Flows
{
    public const string RedirectUri = "http://127.0.0.1/callback";

    public static async Task SignUpAsync(WebSession session, string email, string password)
    {
        var page = await session.GetPageAsync("/account/register");
        using var response = await session.SendAsync(HttpMethod.Post, "/account/register",
        [
            new("__RequestVerificationToken", WebSession.Antiforgery(page)),
            new("Input.Email", email),
            new("Input.Name", "Bench User"),
            new("Input.Password", password),
            new("Input.ConfirmPassword", password),
        ]);
        WebSession.Location(response, "sign-up");
    }

    /// <summary>Signs in on the form; returns where the server sends the browser next.</summary>
    public static async Task<string> SignInAsync(
        WebSession session, string email, string password, string loginUrl = "/account/login", string? page = null)
    {
        page ??= await session.GetPageAsync(loginUrl);
        var returnUrl = QueryHelpers.ParseQuery(new Uri(new Uri("http://x"), loginUrl).Query).TryGetValue("ReturnUrl", out var value)
            ? value.ToString()
            : "/";
        using var response = await session.SendAsync(HttpMethod.Post, "/account/login",
        [
            new("__RequestVerificationToken", WebSession.Antiforgery(page)),
            new("Input.Email", email),
            new("Input.Password", password),
            new("ReturnUrl", returnUrl),
        ]);
        return WebSession.Location(response, "sign-in");
    }

    public static async Task<string> CreateKeyAsync(WebSession session)
    {
        var page = await session.GetPageAsync("/dashboard/keys");
        using var response = await session.SendAsync(HttpMethod.Post, "/dashboard/keys?handler=Create",
        [
            new("__RequestVerificationToken", WebSession.Antiforgery(page)),
            new("Name", "bench"),
            new("Scopes", "read"),
        ]);
        WebSession.Expect(response, HttpStatusCode.OK, "key creation");
        var html = await response.Content.ReadAsStringAsync();
        var start = html.IndexOf("id=\"new-key\">", StringComparison.Ordinal) + "id=\"new-key\">".Length;
        return html[start..html.IndexOf('<', start)];
    }

    public static string AuthorizeUrl(string clientId, string scope, Pkce pkce, string? prompt = null)
    {
        var query = new Dictionary<string, string?>
        {
            ["response_type"] = "code",
            ["client_id"] = clientId,
            ["redirect_uri"] = RedirectUri,
            ["scope"] = scope,
            ["state"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(8)),
            ["code_challenge"] = pkce.Challenge,
            ["code_challenge_method"] = "S256",
        };
        if (prompt is not null)
        {
            query["prompt"] = prompt;
        }

        return QueryHelpers.AddQueryString("/oauth/authorize", query);
    }

    /// <summary>From an authorization request by a signed-in session, through consent when asked, to the code.</summary>
    public static async Task<string> CodeAsync(WebSession session, string authorizeUrl)
    {
        using var response = await session.SendAsync(HttpMethod.Get, authorizeUrl);
        return response.StatusCode == HttpStatusCode.OK
            ? await AcceptAsync(session, await response.Content.ReadAsStringAsync())
            : CodeFrom(WebSession.Location(response, "authorize"));
    }

    /// <summary>Accepts on the consent page; returns the code the redirect carries.</summary>
    public static async Task<string> AcceptAsync(WebSession session, string consent)
    {
        var form = WebSession.HiddenFields(consent);
        form.Add(new("__RequestVerificationToken", WebSession.Antiforgery(consent)));
        form.Add(new("submit.Accept", "yes"));
        using var accepted = await session.SendAsync(HttpMethod.Post, "/oauth/authorize", form);
        return CodeFrom(WebSession.Location(accepted, "consent"));
    }

    private static string CodeFrom(string location) =>
        QueryHelpers.ParseQuery(new Uri(location).Query).TryGetValue("code", out var code)
            ? code.ToString()
            : throw new InvalidOperationException($"No code in {location}");

    public static async Task<JsonElement> TokenAsync(HttpClient http, Client client, IEnumerable<KeyValuePair<string, string>> form)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token") { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = client.Basic;
        request.Headers.Add("X-Forwarded-Proto", "https");
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"token: {(int)response.StatusCode} {body}");
        }

        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>
    /// Introspects once and insists on <c>"active": true</c>: an introspection scenario must measure real answers, not
    /// the cheap <c>{"active":false}</c> a server gives a caller that may not see the token.
    /// </summary>
    public static async Task EnsureActiveAsync(HttpClient http, Uri endpoint, Client client, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint)
        {
            Content = new FormUrlEncodedContent([new("token", token), new("token_type_hint", "access_token")]),
        };
        request.Headers.Authorization = client.Basic;
        request.Headers.Add("X-Forwarded-Proto", "https");
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK
            || !JsonDocument.Parse(body).RootElement.TryGetProperty("active", out var active)
            || active.ValueKind != JsonValueKind.True)
        {
            throw new InvalidOperationException($"introspection at {endpoint}: {(int)response.StatusCode} {body} (expected \"active\": true)");
        }
    }

    public static Task<JsonElement> RedeemAsync(HttpClient http, Client client, string code, Pkce pkce) =>
        TokenAsync(http, client,
        [
            new("grant_type", "authorization_code"),
            new("code", code),
            new("code_verifier", pkce.Verifier),
            new("redirect_uri", RedirectUri),
        ]);

    /// <summary>The steps of <see cref="FullSignInAsync"/>, in order.</summary>
    public static readonly IReadOnlyList<string> SignInSteps =
    [
        "GET /oauth/authorize, no session: sent to sign in",
        "GET /account/login: the sign-in page",
        "POST /account/login: password checked, session cookie",
        "GET /oauth/authorize, signed in: the consent page",
        "POST /oauth/authorize, consent: code issued",
        "POST /oauth/token: code redeemed",
    ];

    /// <summary>
    /// The whole sign-in of a person with no session: authorize, sent to the sign-in page, sign in, back to authorize,
    /// consent, redirect with the code, code redeemed by the app. <paramref name="done"/>, when given, is called after
    /// each step with its index in <see cref="SignInSteps"/>.
    /// </summary>
    public static async Task FullSignInAsync(HttpClient http, Client app, string email, string password, Action<int>? done = null)
    {
        var session = new WebSession(http);
        var pkce = Pkce.Create();
        var authorize = AuthorizeUrl(app.Id, "openid read", pkce, prompt: "consent");
        string login;
        using (var first = await session.SendAsync(HttpMethod.Get, authorize))
        {
            login = WebSession.Location(first, "authorize without a session");
        }

        done?.Invoke(0);
        var page = await session.GetPageAsync(login);
        done?.Invoke(1);
        var back = await SignInAsync(session, email, password, login, page);
        done?.Invoke(2);
        string consent;
        using (var response = await session.SendAsync(HttpMethod.Get, back))
        {
            WebSession.Expect(response, HttpStatusCode.OK, "consent page");
            consent = await response.Content.ReadAsStringAsync();
        }

        done?.Invoke(3);
        var code = await AcceptAsync(session, consent);
        done?.Invoke(4);
        await RedeemAsync(http, app, code, pkce);
        done?.Invoke(5);
    }
}

internal sealed record Pkce(string Verifier, string Challenge)
{
    public static Pkce Create()
    {
        var verifier = Base64UrlTextEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        return new Pkce(verifier, Base64UrlTextEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
    }
}
