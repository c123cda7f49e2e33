using System.Text.Json;
using AuthServer.Data;

namespace AuthServer.Audit;

/// <summary>Writes audit events: who did what, to what, when and from where.</summary>
internal sealed class AuditLog(AuthDbContext context, TimeProvider clock, IHttpContextAccessor http)
{
    public async Task WriteAsync(
        string actor, string action, string? target, string? accountId, object? details = null, CancellationToken cancellationToken = default)
    {
        context.AuditEvents.Add(new AuditEvent
        {
            At = clock.GetUtcNow(),
            Actor = actor,
            Action = action,
            Target = target,
            AccountId = accountId,
            IpAddress = http.HttpContext?.Connection.RemoteIpAddress?.ToString(),
            Details = details is null ? null : JsonSerializer.Serialize(details),
        });
        await context.SaveChangesAsync(cancellationToken);
    }
}

internal static class AuditActions
{
    public const string ApiKeyCreated = "api_key.created";
    public const string ApiKeyRolled = "api_key.rolled";
    public const string ApiKeyRevoked = "api_key.revoked";
    public const string ApiKeyExpiredUse = "api_key.expired_use";
}

internal static class AuditExtensions
{
    public static IHostApplicationBuilder AddAudit(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddHttpContextAccessor();
        services.AddScoped<AuditLog>();
        return builder;
    }
}
