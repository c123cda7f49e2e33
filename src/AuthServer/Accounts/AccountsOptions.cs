using System.ComponentModel.DataAnnotations;

namespace AuthServer.Accounts;

/// <summary>Sign-in rules for people (passwords and lockout).</summary>
public sealed class AccountsOptions
{
    public const string SectionName = "Accounts";

    /// <summary>Minimum password length. No composition rules: length is what makes a password strong.</summary>
    [Range(8, 128)]
    public int PasswordMinLength { get; set; } = 8;

    /// <summary>Failed sign-ins in a row before the account is locked.</summary>
    [Range(1, 100)]
    public int MaxFailedAccessAttempts { get; set; } = 5;

    /// <summary>How long a locked account stays locked.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Lifetime of the sign-in cookie (sliding).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How long a password-reset link works (it also stops once used, or once the password changed).</summary>
    [Range(typeof(TimeSpan), "00:05:00", "1.00:00:00")]
    public TimeSpan ResetLinkLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How often a session is checked against its account (a password reset or change ends every other session): at
    /// most this long after a reset, a session from before it is signed out.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:30:00")]
    public TimeSpan SessionCheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Password-reset requests accepted per minute for one address (and, separately, from one client IP).</summary>
    [Range(1, 1000)]
    public int ResetRequestsPerMinute { get; set; } = 3;

    /// <summary>
    /// Whether an account must confirm its address before it creates API keys or apps, or lets an app use it. It can
    /// sign in, confirm and ask for the link again either way.
    /// </summary>
    public bool RequireConfirmedEmail { get; set; } = true;

    /// <summary>
    /// Whether people in role <c>admin</c> act as admins only in a session signed in with a second factor (an
    /// authenticator code, a recovery code or a passkey). Unset: required outside the Development environment.
    /// </summary>
    public bool? RequireTwoFactorForAdmins { get; set; }

    /// <summary>
    /// The relying-party id of passkeys: the host name they are bound to (a passkey made for one host never works on
    /// another). Unset: the host of the request, which is right when the server has one public host name.
    /// </summary>
    [StringLength(253)]
    public string? PasskeyServerDomain { get; set; }
}
