using System.Net;
using AuthServer.Accounts;
using AuthServer.Tests.Infrastructure;

namespace AuthServer.Tests.Accounts;

public sealed class SignInTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    [Fact]
    public async Task SignIn_RepeatedFailures_LockTheAccountEvenForTheRightPassword_WithoutSayingSo()
    {
        var email = OAuthFlow.NewEmail();
        (await OAuthFlow.SignedUpBrowserAsync(factory, email)).Dispose();
        using var browser = factory.CreateBrowser();

        for (var attempt = 0; attempt < 5; attempt++)
        {
            var failed = await browser.SignInAsync(email, "wrong password " + attempt);
            Assert.Equal(HttpStatusCode.OK, failed.StatusCode);
        }

        var locked = await browser.SignInAsync(email, OAuthFlow.Password);

        Assert.Equal(HttpStatusCode.OK, locked.StatusCode);
        Assert.Equal(PasswordSignIn.FailureMessage, await ErrorAsync(browser, locked));
    }

    [Fact]
    public async Task SignIn_UnknownAddress_WrongPassword_AndLockedAccount_GetTheSameAnswer()
    {
        var known = OAuthFlow.NewEmail();
        var locked = OAuthFlow.NewEmail();
        (await OAuthFlow.SignedUpBrowserAsync(factory, known)).Dispose();
        (await OAuthFlow.SignedUpBrowserAsync(factory, locked)).Dispose();
        using var browser = factory.CreateBrowser();
        for (var attempt = 0; attempt < 5; attempt++)
        {
            await browser.SignInAsync(locked, "wrong password " + attempt);
        }

        var answers = new List<(HttpStatusCode, string?)>();
        foreach (var (email, password) in new[] { (OAuthFlow.NewEmail(), "whatever password"), (known, "wrong password"), (locked, OAuthFlow.Password) })
        {
            var response = await browser.SignInAsync(email, password);
            answers.Add((response.StatusCode, await ErrorAsync(browser, response)));
        }

        Assert.All(answers, answer => Assert.Equal((HttpStatusCode.OK, (string?)PasswordSignIn.FailureMessage), answer));
    }

    /// <summary>
    /// Each failure verifies a password hash, a real or a dummy one, so none answers much sooner than the others.
    /// Without that, an unknown address or a locked account answered in about a fiftieth of the time.
    /// </summary>
    [Fact]
    public async Task SignIn_UnknownAddress_WrongPassword_AndLockedAccount_TakeTheTimeOfAPasswordCheck()
    {
        var known = OAuthFlow.NewEmail();
        var locked = OAuthFlow.NewEmail();
        (await OAuthFlow.SignedUpBrowserAsync(factory, known)).Dispose();
        (await OAuthFlow.SignedUpBrowserAsync(factory, locked)).Dispose();
        using var browser = factory.CreateBrowser();
        for (var attempt = 0; attempt < 5; attempt++)
        {
            await browser.SignInAsync(locked, "wrong password " + attempt);
        }

        var times = new Dictionary<string, List<double>> { ["unknown"] = [], ["wrong"] = [], ["locked"] = [] };
        for (var round = 0; round < 5; round++)
        {
            foreach (var (kind, email) in new[] { ("unknown", OAuthFlow.NewEmail()), ("wrong", known), ("locked", locked) })
            {
                var (_, page) = await browser.GetPageAsync("/account/login");
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                await browser.SubmitAsync(page, new Dictionary<string, string> { ["Input.Email"] = email, ["Input.Password"] = "wrong password" });
                times[kind].Add(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }

        var wrong = Median(times["wrong"]);
        Assert.True(Median(times["unknown"]) > 0.4 * wrong, $"unknown {Median(times["unknown"]):0.0} ms against wrong password {wrong:0.0} ms");
        Assert.True(Median(times["locked"]) > 0.4 * wrong, $"locked {Median(times["locked"]):0.0} ms against wrong password {wrong:0.0} ms");
    }

    [Theory]
    [InlineData("https://evil.example/")]
    [InlineData("//evil.example/")]
    [InlineData("/\\evil.example/")]
    [InlineData("javascript:alert(1)")]
    public async Task SignIn_NonLocalReturnUrl_RedirectsHome(string returnUrl)
    {
        var email = OAuthFlow.NewEmail();
        (await OAuthFlow.SignedUpBrowserAsync(factory, email)).Dispose();
        using var browser = factory.CreateBrowser();

        var response = await browser.SignInAsync(email, OAuthFlow.Password, returnUrl);

        Assert.Equal("/", TestBrowser.Location(response).OriginalString);
    }

    [Fact]
    public async Task SignIn_WithoutAntiforgeryToken_IsRefused()
    {
        using var browser = factory.CreateBrowser();
        await browser.GetPageAsync("/account/login");

        var response = await browser.Http.PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Input.Email"] = "someone@example.com",
            ["Input.Password"] = "whatever password",
        }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task SignUp_ShortPasswordOrMismatch_StaysOnThePageWithErrors()
    {
        using var browser = factory.CreateBrowser();
        var (_, page) = await browser.GetPageAsync("/account/register");

        var response = await browser.SubmitAsync(page, new Dictionary<string, string>
        {
            ["Input.Email"] = OAuthFlow.NewEmail(),
            ["Input.Password"] = "short",
            ["Input.ConfirmPassword"] = "short",
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("at least 8 characters", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignUp_TakenAddress_GetsTheAnswerANewAddressGets_AndChangesNothing()
    {
        var taken = OAuthFlow.NewEmail();
        (await OAuthFlow.SignedUpBrowserAsync(factory, taken)).Dispose();
        using var first = factory.CreateBrowser();
        using var second = factory.CreateBrowser();

        var forTaken = await first.RegisterAsync(taken, "another long password");
        var forNew = await second.RegisterAsync(OAuthFlow.NewEmail(), "another long password");

        Assert.Equal(forNew.StatusCode, forTaken.StatusCode);
        Assert.Equal(TestBrowser.Location(forNew), TestBrowser.Location(forTaken));
        Assert.Equal(Cookies(forNew), Cookies(forTaken));
        Assert.Equal(HttpStatusCode.Redirect, (await first.SignInAsync(taken, OAuthFlow.Password)).StatusCode);
    }

    [Fact]
    public async Task SignOut_ByGet_DoesNotSignOut()
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);

        await browser.Http.GetAsync("/account/logout");
        var (_, home) = await browser.GetPageAsync("/");

        Assert.Contains("You are signed in", home.Body!.TextContent, StringComparison.Ordinal);
    }

    private static async Task<string?> ErrorAsync(TestBrowser browser, HttpResponseMessage response) =>
        (await browser.ParseAsync(response)).Page.QuerySelector(".errors li")?.TextContent.Trim();

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>The names of the cookies a response sets.</summary>
    private static List<string> Cookies(HttpResponseMessage response) =>
        [.. (response.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : []).Select(cookie => cookie.Split('=')[0]).Order(StringComparer.Ordinal)];
}
