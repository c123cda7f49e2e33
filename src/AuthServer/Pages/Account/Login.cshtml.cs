using System.ComponentModel.DataAnnotations;
using System.Globalization;
using AuthServer.Accounts;
using AuthServer.Core;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.WebUtilities;
using OpenIddict.Abstractions;

namespace AuthServer.Pages.Account;

internal sealed class LoginModel(PasswordSignIn passwords, Passkeys passkeys, IOpenIddictApplicationManager applications) : PageModel
{
    /// <summary>The app the person signs in for, when they came from its authorization request.</summary>
    public string? AppName { get; private set; }

    public async Task OnGetAsync() => AppName = await AppNameAsync();

    [BindProperty]
    public LoginInput Input { get; set; } = new();

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    /// <summary>Set after a sign-up, whose answer is the same whether or not the address already had an account.</summary>
    [BindProperty(SupportsGet = true)]
    public bool Registered { get; set; }

    /// <summary>Set after a password reset.</summary>
    [BindProperty(SupportsGet = true)]
    public bool Reset { get; set; }

    public async Task<IActionResult> OnPostAsync()
    {
        AppName = await AppNameAsync();
        if (!ModelState.IsValid)
        {
            return Page();
        }

        var (result, retryAfter) = await passwords.SignInAsync(HttpContext, Input.Email, Input.Password, Input.RememberMe);
        switch (result)
        {
            case PasswordSignInResult.SignedIn:
                return LocalRedirect(AccountsExtensions.LocalOrHome(Url, ReturnUrl));

            case PasswordSignInResult.TwoFactorRequired:
                return RedirectToPage("LoginTwoFactor", new { ReturnUrl = AccountsExtensions.LocalOrHome(Url, ReturnUrl), Input.RememberMe });

            case PasswordSignInResult.Limited:
                Response.StatusCode = StatusCodes.Status429TooManyRequests;
                Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
                ModelState.AddModelError(string.Empty, $"Too many failed sign-ins to this account from your network. Try again in {retryAfter} seconds.");
                return Page();

            default:
                ModelState.AddModelError(string.Empty, PasswordSignIn.FailureMessage);
                return Page();
        }
    }

    /// <summary>The options for the browser's <c>navigator.credentials.get()</c>, asked for by the page's script.</summary>
    public async Task<IActionResult> OnPostPasskeyOptionsAsync() => Content(await passkeys.RequestOptionsAsync(), "application/json");

    public async Task<IActionResult> OnPostPasskeyAsync(string? credentialJson)
    {
        var (signedIn, retryAfter) = await passkeys.SignInAsync(HttpContext, credentialJson);
        if (signedIn)
        {
            return LocalRedirect(AccountsExtensions.LocalOrHome(Url, ReturnUrl));
        }

        // The password form's fields were not posted: only the reason is shown.
        AppName = await AppNameAsync();
        ModelState.Clear();
        if (retryAfter > 0)
        {
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
            ModelState.AddModelError(string.Empty, $"Too many failed sign-ins from your network. Try again in {retryAfter} seconds.");
            return Page();
        }

        ModelState.AddModelError(string.Empty, "That passkey did not sign you in: it is unknown here, its account is locked, or the request expired. Try again, or use your password.");
        Response.StatusCode = StatusCodes.Status400BadRequest;
        return Page();
    }

    /// <summary>The display name of the client named in a return URL to <c>/oauth/authorize</c>.</summary>
    private async Task<string?> AppNameAsync()
    {
        if (ReturnUrl is not { } returnUrl || !returnUrl.StartsWith(Routes.Authorize + "?", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var clientId = QueryHelpers.ParseQuery(returnUrl[returnUrl.IndexOf('?', StringComparison.Ordinal)..])["client_id"].ToString();
        return clientId.Length > 0 && await applications.FindByClientIdAsync(clientId, HttpContext.RequestAborted) is { } application
            ? await applications.GetDisplayNameAsync(application, HttpContext.RequestAborted)
            : null;
    }

    internal sealed class LoginInput
    {
        [Required, EmailAddress, StringLength(256)]
        public string Email { get; set; } = "";

        [Required, StringLength(128)]
        [DataType(DataType.Password)]
        public string Password { get; set; } = "";

        public bool RememberMe { get; set; }
    }
}
