namespace AuthServer.Core;

/// <summary>The scopes of the platform API.</summary>
public static class PlatformScopes
{
    public const string Read = "read";
    public const string Write = "write";

    /// <summary>The admin API; granted only to admin clients, through <c>client_credentials</c>.</summary>
    public const string Admin = "admin";

    /// <summary>
    /// What each scope an app may ask a person for allows, in the words of the consent page and the dashboard; in the
    /// order they are listed.
    /// </summary>
    public static readonly IReadOnlyList<KeyValuePair<string, string>> PersonScopes =
    [
        new("openid", "Know who you are (your account identifier)"),
        new("profile", "See your name"),
        new("email", "See your email address"),
        new("offline_access", "Keep access while you are away"),
        new(Read, "Read your data through the platform API"),
        new(Write, "Change your data through the platform API"),
    ];

    /// <summary>The sentence for a scope, or the scope itself when it has none.</summary>
    public static string Describe(string scope) =>
        PersonScopes.FirstOrDefault(entry => entry.Key == scope).Value ?? scope;
}
