namespace AuthServer.Data;

/// <summary>
/// The time step (30-second interval since the Unix epoch) of the last authenticator code an account used: a code of
/// that step or an earlier one is refused, so each code works once (RFC 6238 §5.2).
/// </summary>
public sealed class AuthenticatorStep
{
    public required string UserId { get; set; }

    public long LastStep { get; set; }
}
