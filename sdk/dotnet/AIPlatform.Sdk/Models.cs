using System.Text.Json.Serialization;

// CA1720: "Object" is the API's own field name ("object": "list" / "model"), kept as the JavaScript SDK has it.
#pragma warning disable CA1720

namespace AIPlatform.Sdk;

/// <summary>What a caller needs from a response besides its body: the request id and the rate limit it used.</summary>
public sealed record ResponseInfo(int Status, string? RequestId, RateLimitInfo RateLimit);

/// <summary>The <c>X-RateLimit-*</c> headers: the limit per minute, what is left, seconds until the window resets.</summary>
public sealed record RateLimitInfo(long? Limit, long? Remaining, long? Reset);

/// <summary>A result of the API: its body, and the <see cref="Response"/> details.</summary>
public abstract record ApiResult
{
    [JsonIgnore]
    public ResponseInfo Response { get; internal set; } = new(0, null, new(null, null, null));
}

public sealed record ModelList(
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("data")] IReadOnlyList<Model> Data) : ApiResult;

public sealed record Model(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("owned_by")] string OwnedBy);

public sealed record UserProfile(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("email")] string? Email,
    [property: JsonPropertyName("name")] string? Name) : ApiResult;

internal sealed record ErrorEnvelope([property: JsonPropertyName("error")] ErrorBody? Error);

internal sealed record ErrorBody(
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("message")] string? Message);

[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(UserProfile))]
[JsonSerializable(typeof(ErrorEnvelope))]
internal sealed partial class SdkJsonContext : JsonSerializerContext;
