using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AuthServer.Clients;
using AuthServer.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace AuthServer.Tests.Infrastructure;

public sealed record Pkce(string Verifier, string Challenge)
{
    public static Pkce Create()
    {
        var verifier = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        return new Pkce(verifier, Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
    }
}

public sealed record TokenResponse(HttpStatusCode Status, JsonElement Body)
{
    public string? Error => Body.TryGetProperty("error", out var error) ? error.GetString() : null;

    public string AccessToken => Body.GetProperty("access_token").GetString()!;

    public string? RefreshToken => Body.TryGetProperty("refresh_token", out var token) ? token.GetString() : null;

    public string? IdToken => Body.TryGetProperty("id_token", out var token) ? token.GetString() : null;
}

/// <summary>The steps of the authorization-code flow as a third-party app and its user take them.</summary>
public static class OAuthFlow
{
    public const string Password = "correct horse battery staple";

    public static string AuthorizeUrl(
        string clientId,
        string redirectUri,
        string scope,
        Pkce? pkce,
        string state = "xyz-state",
        string challengeMethod = "S256",
        IReadOnlyDictionary<string, string>? extra = null)
    {
        var query = new Dictionary<string, string?>
        {
            ["response_type"] = "code",
            ["client_id"] = clientId,
            ["redirect_uri"] = redirectUri,
            ["scope"] = scope,
            ["state"] = state,
            ["nonce"] = "n-0S6_WzA2Mj",
        };
        if (pkce is not null)
        {
            query["code_challenge"] = challengeMethod == "plain" ? pkce.Verifier : pkce.Challenge;
            query["code_challenge_method"] = challengeMethod;
        }

        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            query[key] = value;
        }

        return QueryHelpers.AddQueryString("/oauth/authorize", query);
    }

    public static async Task<TestBrowser> SignedUpBrowserAsync(AuthServerFactory factory, string? email = null)
    {
        var browser = factory.CreateBrowser();
        await SignUpAsync(browser, email ?? NewEmail());
        return browser;
    }

    /// <summary>
    /// Signs up, signs in with the password just chosen (sign-up alone signs no one in), and confirms the address
    /// with the link in the email the server sent.
    /// </summary>
    public static async Task SignUpAsync(TestBrowser browser, string email)
    {
        var registered = await browser.RegisterAsync(email, Password, "Ada Lovelace");
        Assert.StartsWith("/account/login?Registered=true", TestBrowser.Location(registered).OriginalString, StringComparison.Ordinal);
        var signedIn = await browser.SignInAsync(email, Password);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        await ConfirmEmailAsync(browser, email);
    }

    public const string ConfirmationSubject = "Confirm your email address";

    /// <summary>Follows the confirmation link of the email sent to <paramref name="email"/> and presses its button.</summary>
    public static async Task ConfirmEmailAsync(TestBrowser browser, string email)
    {
        var mailbox = browser.Mailbox ?? throw new InvalidOperationException("This browser does not know where the server's mail goes.");
        var message = await mailbox.WaitForAsync(email, subject: ConfirmationSubject);
        var (_, page) = await browser.GetPageAsync(Mailboxes.LinkTo(message, "/account/confirm-email").PathAndQuery);
        var (confirmed, done) = await browser.ParseAsync(await browser.SubmitAsync(page, new Dictionary<string, string>()));
        Assert.Equal(HttpStatusCode.OK, confirmed.StatusCode);
        Assert.Contains("Your address is confirmed", done.QuerySelector("[role=status]")?.TextContent ?? "", StringComparison.Ordinal);
    }

    /// <summary>A person in role <c>admin</c>, signed in on the server's pages.</summary>
    public static async Task<TestBrowser> SignedInAdminAsync(AuthServerFactory factory)
    {
        var email = NewEmail();
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
            var roles = scope.ServiceProvider.GetRequiredService<RoleManager<IdentityRole>>();
            if (!await roles.RoleExistsAsync("admin"))
            {
                await roles.CreateAsync(new IdentityRole("admin"));
            }

            var user = new ApplicationUser { UserName = email, Email = email, EmailConfirmed = true };
            Assert.True((await users.CreateAsync(user, Password)).Succeeded);
            Assert.True((await users.AddToRoleAsync(user, "admin")).Succeeded);
        }

        var browser = factory.CreateBrowser();
        Assert.Equal(HttpStatusCode.Redirect, (await browser.SignInAsync(email, Password)).StatusCode);
        return browser;
    }

    public static string NewEmail() => $"user-{Guid.NewGuid():N}@example.com";

    /// <summary>Follows an authorization request through consent (when asked) to the redirect back to the app.</summary>
    public static async Task<Uri> AuthorizeAsync(TestBrowser browser, string url, bool consent = true)
    {
        var (response, page) = await browser.GetPageAsync(url);
        if (response.StatusCode == HttpStatusCode.OK && page.QuerySelector("button[name='submit.Accept']") is not null)
        {
            response = await browser.SubmitAsync(page, new Dictionary<string, string>(), submitButton: consent ? "submit.Accept" : "submit.Deny");
        }

        return TestBrowser.Location(response);
    }

    public static async Task<string> GetCodeAsync(TestBrowser browser, string url)
    {
        var location = await AuthorizeAsync(browser, url);
        var query = QueryHelpers.ParseQuery(location.Query);
        Assert.True(query.ContainsKey("code"), $"No code in {location}");
        return query["code"]!;
    }

    /// <summary>A new person, a new client, and a code issued to it with PKCE, not yet redeemed.</summary>
    public static async Task<(RegisteredClient Client, string Code, Pkce Pkce)> NewCodeAsync(
        AuthServerFactory factory, string scope = "openid offline_access read", string redirectUri = "https://app.example/callback")
    {
        using var browser = await SignedUpBrowserAsync(factory);
        var client = await factory.RegisterClientAsync(redirectUri);
        var pkce = Pkce.Create();
        var code = await GetCodeAsync(browser, AuthorizeUrl(client.ClientId, redirectUri, scope, pkce));
        return (client, code, pkce);
    }

    public static Task<TokenResponse> RedeemAsync(
        HttpClient http, RegisteredClient client, string code, string verifier, string redirectUri = "https://app.example/callback") =>
        TokenAsync(http, client, new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["code_verifier"] = verifier,
            ["redirect_uri"] = redirectUri,
        });

    public static Task<TokenResponse> RefreshAsync(HttpClient http, RegisteredClient client, string refreshToken, string? scope = null)
    {
        var form = new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = refreshToken };
        if (scope is not null)
        {
            form["scope"] = scope;
        }

        return TokenAsync(http, client, form);
    }

    public static async Task<TokenResponse> TokenAsync(
        HttpClient http, RegisteredClient client, IDictionary<string, string> form, string? secretOverride = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token");
        var secret = secretOverride ?? client.ClientSecret;
        if (secret is null)
        {
            form["client_id"] = client.ClientId;
        }
        else
        {
            request.Headers.Authorization = Basic(client with { ClientSecret = secret });
        }

        request.Content = new FormUrlEncodedContent(form);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(body);
        return new TokenResponse(response.StatusCode, document.RootElement.Clone());
    }

    /// <summary>RFC 6749 §2.3.1 client authentication: form-encoded id and secret, base64, in a Basic header.</summary>
    public static AuthenticationHeaderValue Basic(RegisteredClient client) => new(
        "Basic",
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(client.ClientId)}:{Uri.EscapeDataString(client.ClientSecret ?? "")}")));

    /// <summary>Signs up, registers a client, and runs the flow to a token response.</summary>
    public static async Task<(TestBrowser Browser, RegisteredClient Client, TokenResponse Tokens)> FullFlowAsync(
        AuthServerFactory factory, string scope = "openid profile email offline_access read")
    {
        var browser = await SignedUpBrowserAsync(factory);
        var client = await factory.RegisterClientAsync();
        var pkce = Pkce.Create();
        var code = await GetCodeAsync(browser, AuthorizeUrl(client.ClientId, "https://app.example/callback", scope, pkce));
        using var http = factory.CreateApiClient();
        var tokens = await RedeemAsync(http, client, code, pkce.Verifier);
        Assert.Equal(HttpStatusCode.OK, tokens.Status);
        return (browser, client, tokens);
    }
}
