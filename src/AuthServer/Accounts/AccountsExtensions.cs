using AuthServer.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace AuthServer.Accounts;

/// <summary>People: ASP.NET Core Identity with our own sign-up, sign-in and sign-out pages.</summary>
internal static class AccountsExtensions
{
    public const string AdminRole = "admin";
    public const string LoginPath = "/account/login";
    public const string LogoutPath = "/account/logout";
    public const string SessionCookie = "authserver.session";

    public static IServiceCollection AddAccounts(this IServiceCollection services)
    {
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
            .AddUserStore<AccountUserStore>()
            .AddDefaultTokenProviders();

        // Options that come from configuration are applied on top of the fixed choices above.
        services.AddOptions<IdentityOptions>().Configure<IOptions<AccountsOptions>>((identity, accounts) =>
        {
            identity.Password.RequiredLength = accounts.Value.PasswordMinLength;
            identity.Lockout.MaxFailedAccessAttempts = accounts.Value.MaxFailedAccessAttempts;
            identity.Lockout.DefaultLockoutTimeSpan = accounts.Value.LockoutDuration;
        });

        services.ConfigureApplicationCookie(options =>
        {
            options.Cookie.Name = SessionCookie;
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Lax;
            options.LoginPath = LoginPath;
            options.LogoutPath = LogoutPath;
            options.AccessDeniedPath = "/account/denied";
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
        services.AddSingleton<DummyPasswordHash>();
        services.AddAntiforgery(options => options.Cookie.Name = "authserver.antiforgery");
        services.AddRazorPages();
        services.AddControllersWithViews(options => options.Filters.Add(new AutoValidateAntiforgeryTokenAttribute()));
        return services;
    }

    public static IEndpointRouteBuilder MapAccountPages(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapRazorPages();
        return endpoints;
    }

    private static Task RedirectOrStatus(
        Microsoft.AspNetCore.Authentication.RedirectContext<Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationOptions> context,
        int status)
    {
        if (context.Request.Path.StartsWithSegments("/admin", StringComparison.OrdinalIgnoreCase)
            || context.Request.Path.StartsWithSegments("/v1", StringComparison.OrdinalIgnoreCase))
        {
            return status == StatusCodes.Status403Forbidden
                ? PlatformApi.PlatformErrors.WriteAsync(
                    context.HttpContext, status, PlatformApi.PlatformErrors.InsufficientScope, "This requires the admin role.", ["admin"])
                : PlatformApi.PlatformErrors.WriteAsync(
                    context.HttpContext, status, PlatformApi.PlatformErrors.InvalidToken, "Authentication is required.");
        }

        context.Response.Redirect(context.RedirectUri);
        return Task.CompletedTask;
    }

    /// <summary>Only ever redirect to a path on this server (never <c>//evil</c> or an absolute URL).</summary>
    public static string LocalOrHome(Microsoft.AspNetCore.Mvc.IUrlHelper url, string? returnUrl) =>
        !string.IsNullOrEmpty(returnUrl) && url.IsLocalUrl(returnUrl) ? returnUrl : "/";
}
