namespace AuthServer.Core;

/// <summary>The caller's IP address as the failure limits and the audit log see it (after forwarded headers).</summary>
internal static class ClientAddress
{
    public static string Of(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
}
