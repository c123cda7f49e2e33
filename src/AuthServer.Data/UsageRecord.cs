namespace AuthServer.Data;

/// <summary>
/// How many <c>/v1</c> calls one credential made in one minute with one class of outcome. Rows are written in batches
/// by adding to <see cref="Count"/>, so several nodes can flush into the same row.
/// </summary>
public sealed class UsageRecord
{
    public long Id { get; set; }

    /// <summary>The paying account; empty for a client registered by an admin, which pays for itself.</summary>
    public required string AccountId { get; set; }

    /// <summary><c>key:&lt;api key id&gt;</c> or <c>client:&lt;client_id&gt;</c>.</summary>
    public required string Credential { get; set; }

    /// <summary>The minute, as whole minutes since the Unix epoch (a number, so that every provider can range over it).</summary>
    public long Minute { get; set; }

    /// <summary>One of <see cref="UsageStatusClasses"/>.</summary>
    public required string StatusClass { get; set; }

    public long Count { get; set; }
}

/// <summary>The outcome classes usage is counted by.</summary>
public static class UsageStatusClasses
{
    public const string Success = "2xx";
    public const string ClientError = "4xx";
    public const string RateLimited = "429";
    public const string ServerError = "5xx";

    public static readonly IReadOnlyList<string> All = [Success, ClientError, RateLimited, ServerError];

    public static string Of(int status) => status switch
    {
        429 => RateLimited,
        >= 500 => ServerError,
        >= 400 => ClientError,
        _ => Success,
    };
}
