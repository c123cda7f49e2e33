namespace AuthServer.Data;

/// <summary>Something security-relevant that happened: who did what to which object, when and from where.</summary>
public sealed class AuditEvent
{
    public long Id { get; set; }

    public DateTimeOffset At { get; set; }

    /// <summary>The user id, client id or <c>system</c> that acted.</summary>
    public required string Actor { get; set; }

    /// <summary>A dotted name such as <c>api_key.created</c>.</summary>
    public required string Action { get; set; }

    /// <summary>The object acted on, for example an API key id or a client id.</summary>
    public string? Target { get; set; }

    /// <summary>The account the event concerns, so an owner can be shown what happened to their things.</summary>
    public string? AccountId { get; set; }

    public string? IpAddress { get; set; }

    /// <summary>A short JSON object with the details.</summary>
    public string? Details { get; set; }
}
