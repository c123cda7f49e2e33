using Microsoft.AspNetCore.Identity;

namespace AuthServer.Data;

/// <summary>An account of the platform: a person who signs in, owns API keys and apps, and pays for usage.</summary>
public sealed class ApplicationUser : IdentityUser
{
    /// <summary>The name shown to the user and returned as the <c>name</c> claim.</summary>
    public string? DisplayName { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The account's rate-limit tier: <c>free</c> (new accounts), <c>pro</c> or <c>enterprise</c>.</summary>
    public string Tier { get; set; } = AccountTiers.Free;

    /// <summary>The requests per minute of an <c>enterprise</c> account, set by an admin.</summary>
    public int? RequestsPerMinute { get; set; }
}

public static class AccountTiers
{
    public const string Free = "free";
    public const string Pro = "pro";
    public const string Enterprise = "enterprise";

    public static readonly IReadOnlyList<string> All = [Free, Pro, Enterprise];
}
