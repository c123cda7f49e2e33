using AuthServer.Core;
using AuthServer.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace AuthServer.Accounts;

/// <summary>People: ASP.NET Core Identity with our own sign-up, sign-in and sign-out pages.</summary>
internal static class AccountsExtensions
{
    public const string AdminRole = "admin";
    public const string SessionCookie = "authserver.session";

    public static IHostApplicationBuilder AddAccounts(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<AccountsOptions>()
            .BindConfiguration(AccountsOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddIdentity<ApplicationUser, IdentityRole>(options =>
            {
                options.User.RequireUniqueEmail = true;
                options.SignIn.RequireConfirmedAccount = false;
                options.Password.RequireDigit = false;
                options.Password.RequireLowercase = false;
                options.Password.RequireUppercase = false;
                options.Password.RequireNonAlphanumeric = false;
                options.Password.RequiredUniqueChars = 1;
                options.Lockout.AllowedForNewUsers = true;
            })
            .AddEntityFrameworkStores<AuthDbContext>()
            .AddUserManager<AccountUserManager>()
            .AddDefaultTokenProviders()
            .AddTokenProvider<OneTimeAuthenticatorCodes>(TokenOptions.DefaultAuthenticatorProvider);

        // Options that come from configuration are applied on top of the fixed choices above.
        services.AddOptions<IdentityOptions>().Configure<IOptions<AccountsOptions>>((identity, accounts) =>
        {
            identity.Password.RequiredLength = accounts.Value.PasswordMinLength;
            identity.Lockout.MaxFailedAccessAttempts = accounts.Value.MaxFailedAccessAttempts;
            identity.Lockout.DefaultLockoutTimeSpan = accounts.Value.LockoutDuration;
        });
        services.AddOptions<IdentityPasskeyOptions>().Configure<IOptions<AccountsOptions>>((passkeys, accounts) =>
        {
            passkeys.ServerDomain = accounts.Value.PasskeyServerDomain;

            // Discoverable credentials only: a passkey signs in without the person typing their address first.
            passkeys.ResidentKeyRequirement = "required";

            // The answer must come from a page of this server: the origin the request itself was made to. Identity's
            // default compares it with the request's Origin header instead, which browsers send as "null" from our
            // pages (their referrer policy is no-referrer).
            passkeys.ValidateOrigin = context => ValueTask.FromResult(!context.CrossOrigin && string.Equals(
                context.Origin, $"{context.HttpContext.Request.Scheme}://{context.HttpContext.Request.Host}", StringComparison.OrdinalIgnoreCase));
        });
        services.AddOptions<DataProtectionTokenProviderOptions>().Configure<IOptions<AccountsOptions>>(
            (tokens, accounts) => tokens.TokenLifespan = accounts.Value.ResetLinkLifetime);
        services.AddOptions<SecurityStampValidatorOptions>().Configure<IOptions<AccountsOptions>>((stamps, accounts) =>
        {
            stamps.ValidationInterval = accounts.Value.SessionCheckInterval;

            // A session keeps how it was signed in (amr: with a second factor or not) when its account is read again.
            stamps.OnRefreshingPrincipal = context =>
            {
                if (context.NewPrincipal?.Identity is System.Security.Claims.ClaimsIdentity identity && context.CurrentPrincipal is { } current)
                {
                    identity.AddClaims(current.FindAll(TwoFactorSignIn.AmrClaim).Select(claim => new System.Security.Claims.Claim(claim.Type, claim.Value)));
                }

                return Task.CompletedTask;
            };
        });

        services.ConfigureApplicationCookie(options =>
        {
            options.Cookie.Name = SessionCookie;
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Lax;
            options.LoginPath = Routes.SignIn;
            options.LogoutPath = Routes.SignOut;
            options.AccessDeniedPath = Routes.Denied;
            options.SlidingExpiration = true;

            // APIs answer with a status code; only pages redirect to the sign-in page.
            options.Events.OnRedirectToLogin = context => RedirectOrStatus(context, StatusCodes.Status401Unauthorized);
            options.Events.OnRedirectToAccessDenied = context => RedirectOrStatus(context, StatusCodes.Status403Forbidden);
        });
        services.AddOptions<Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationOptions>(
                IdentityConstants.ApplicationScheme)
            .Configure<IOptions<AccountsOptions>>((cookie, accounts) => cookie.ExpireTimeSpan = accounts.Value.SessionLifetime);

        services.AddScoped<AccountTierService>();
        services.AddScoped<PasswordSignIn>();
        services.AddScoped<TwoFactorSignIn>();
        services.AddScoped<Passkeys>();
        services.AddScoped<SecondFactorReset>();
        services.AddScoped<AccountEmails>();
        services.AddScoped<EmailConfirmation>();
        services.AddSingleton<DummyPasswordHash>();
        services.AddAntiforgery(options => options.Cookie.Name = "authserver.antiforgery");
        services.AddRazorPages();
        services.AddControllersWithViews(options => options.Filters.Add(new AutoValidateAntiforgeryTokenAttribute()));
        return builder;
    }

    public static IEndpointRouteBuilder MapAccountPages(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapRazorPages();
        return endpoints;
    }

    /// <summary>The admin API answers with a status code and its error shape; only pages redirect to sign in.</summary>
    private static Task RedirectOrStatus(
        Microsoft.AspNetCore.Authentication.RedirectContext<Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationOptions> context,
        int status)
    {
        if (Routes.IsUnder(context.Request.Path, Routes.Admin))
        {
            return status == StatusCodes.Status403Forbidden
                ? OAuthErrors.WriteAsync(context.HttpContext, status, OAuthErrors.InsufficientScope,
                    "This requires the admin role (for a person, in a session signed in with a second factor when Accounts:RequireTwoFactorForAdmins is on).", PlatformScopes.Admin)
                : OAuthErrors.WriteAsync(context.HttpContext, status, OAuthErrors.InvalidToken, "Authentication is required.");
        }

        context.Response.Redirect(context.RedirectUri);
        return Task.CompletedTask;
    }

    /// <summary>Only ever redirect to a path on this server (never <c>//evil</c> or an absolute URL).</summary>
    public static string LocalOrHome(Microsoft.AspNetCore.Mvc.IUrlHelper url, string? returnUrl) =>
        !string.IsNullOrEmpty(returnUrl) && url.IsLocalUrl(returnUrl) ? returnUrl : "/";
}
