namespace AuthServer.Core;

/// <summary>The scopes of the platform API.</summary>
public static class PlatformScopes
{
    public const string Read = "read";
    public const string Write = "write";

    /// <summary>The admin API; granted only to admin clients, through <c>client_credentials</c>.</summary>
    public const string Admin = "admin";
}
