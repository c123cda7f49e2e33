namespace AuthServer.Data;

/// <summary>
/// A named job that one node at a time may run (pruning, for example): the node whose <see cref="Holder"/> is written
/// here runs it until <see cref="ExpiresAt"/>, and renews the lease while it works.
/// </summary>
public sealed class Lease
{
    public required string Name { get; set; }

    public required string Holder { get; set; }

    /// <summary>Milliseconds since the Unix epoch (a number, so that every provider can compare it).</summary>
    public long ExpiresAt { get; set; }
}
