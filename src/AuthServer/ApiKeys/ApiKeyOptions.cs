using System.ComponentModel.DataAnnotations;

namespace AuthServer.ApiKeys;

/// <summary>Rules for developer API keys.</summary>
public sealed class ApiKeyOptions
{
    public const string SectionName = "ApiKeys";

    /// <summary>Lifetime of a new key when the developer does not choose one.</summary>
    [Range(1, 365)]
    public int DefaultLifetimeDays { get; set; } = 90;

    /// <summary>The longest lifetime a developer may choose.</summary>
    [Range(1, 365)]
    public int MaxLifetimeDays { get; set; } = 365;

    /// <summary>Whether developers may create keys that never expire (an operator's decision).</summary>
    public bool AllowNonExpiring { get; set; }

    /// <summary>The longest grace period of a rolled key's predecessor.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    public TimeSpan MaxRollGracePeriod { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Most keys one account may hold (active or not yet cleaned up).</summary>
    [Range(1, 1000)]
    public int MaxKeysPerAccount { get; set; } = 50;

    /// <summary>Keys expiring within this many days are flagged on the dashboard.</summary>
    [Range(0, 90)]
    public int ExpiryWarningDays { get; set; } = 14;
}
