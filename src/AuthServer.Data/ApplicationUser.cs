using Microsoft.AspNetCore.Identity;

namespace AuthServer.Data;

/// <summary>An account of the platform: a person who signs in, owns API keys and apps, and pays for usage.</summary>
public sealed class ApplicationUser : IdentityUser
{
    /// <summary>The name shown to the user and returned as the <c>name</c> claim.</summary>
    public string? DisplayName { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
