namespace AuthServer.Core;

/// <summary>The server's paths, each written once: they are part of the contract with clients and scripts.</summary>
internal static class Routes
{
    public const string OAuth = "/oauth";
    public const string Authorize = OAuth + "/authorize";
    public const string Token = OAuth + "/token";
    public const string UserInfo = OAuth + "/userinfo";
    public const string Logout = OAuth + "/logout";
    public const string Introspect = OAuth + "/introspect";
    public const string Revoke = OAuth + "/revoke";

    public const string WellKnown = "/.well-known";
    public const string OpenIdConfiguration = WellKnown + "/openid-configuration";
    public const string AuthorizationServerMetadata = WellKnown + "/oauth-authorization-server";
    public const string Jwks = WellKnown + "/jwks";

    public const string PlatformApi = "/v1";
    public const string Admin = "/admin";

    public const string Account = "/account";
    public const string SignIn = Account + "/login";
    public const string SignOut = Account + "/logout";
    public const string Denied = Account + "/denied";
    public const string Register = Account + "/register";
    public const string ForgotPassword = Account + "/forgot-password";
    public const string ResetPassword = Account + "/reset-password";
    public const string Security = Account + "/security";
    public const string ConfirmEmailChange = Account + "/confirm-email-change";
    public const string ConfirmEmail = Account + "/confirm-email";
    public const string SignInTwoFactor = Account + "/login-two-factor";

    public const string ApiDocument = "/openapi/{documentName}.json";
    public const string ApiReference = "/docs/api";

    public const string Healthz = "/healthz";
    public const string Readyz = "/readyz";

    /// <summary>Where bare error statuses of pages are rendered (<c>{0}</c>: the status).</summary>
    public const string ErrorPage = "/error/{0}";

    /// <summary>Whether <paramref name="path"/> is <paramref name="prefix"/> or below it.</summary>
    public static bool IsUnder(PathString path, string prefix) => path.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase);
}
