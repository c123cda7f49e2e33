using System.Net;
using AuthServer.Tests.Infrastructure;

namespace AuthServer.Tests.Accounts;

public sealed class SignInTests(AuthServerFactory factory) : IClassFixture<AuthServerFactory>
{
    [Fact]
    public async Task SignIn_RepeatedFailures_LockTheAccountEvenForTheRightPassword()
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
        Assert.Contains("locked", await locked.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task SignIn_WrongPassword_ShowsErrorWithoutRevealingWhichPartWasWrong()
    {
        using var browser = factory.CreateBrowser();

        var unknown = await browser.SignInAsync(OAuthFlow.NewEmail(), "whatever password");

        Assert.Equal(HttpStatusCode.OK, unknown.StatusCode);
        Assert.Contains("Invalid email or password.", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
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
    public async Task SignUp_EmailAlreadyTaken_IsRefused()
    {
        var email = OAuthFlow.NewEmail();
        (await OAuthFlow.SignedUpBrowserAsync(factory, email)).Dispose();
        using var browser = factory.CreateBrowser();

        var response = await browser.RegisterAsync(email, OAuthFlow.Password);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("is already taken", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignOut_ByGet_DoesNotSignOut()
    {
        using var browser = await OAuthFlow.SignedUpBrowserAsync(factory);

        await browser.Http.GetAsync("/account/logout");
        var (_, home) = await browser.GetPageAsync("/");

        Assert.Contains("You are signed in", home.Body!.TextContent, StringComparison.Ordinal);
    }
}
