namespace AuthServer.Data;

/// <summary>Which developer registered an OAuth client from the dashboard (clients registered by admins have none).</summary>
public sealed class ClientOwner
{
    public required string ClientId { get; set; }

    public required string OwnerId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
