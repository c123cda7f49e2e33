using AuthServer.Data;
using AuthServer.OAuth.Keys;

namespace AuthServer.Tests.OAuth;

/// <summary>A key's status at a moment, read from the rows the same way on every node.</summary>
public sealed class ServerKeyLifecycleTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Retain = TimeSpan.FromDays(14);
    private static readonly TimeSpan Rotation = TimeSpan.FromDays(90);

    [Fact]
    public void ARoutineRotation_AnnouncesThenSwitchesThenRetiresThenRemoves()
    {
        var first = Key(1, Start);
        var second = Key(2, Start.AddDays(90));
        ServerKey[] keys = [first, second];

        Assert.Equal([ServerKeyStatus.Current, ServerKeyStatus.Announced], StatusesAt(keys, Start.AddDays(80)));
        Assert.Equal([ServerKeyStatus.Retired, ServerKeyStatus.Current], StatusesAt(keys, Start.AddDays(90)));
        Assert.Equal([ServerKeyStatus.Retired, ServerKeyStatus.Current], StatusesAt(keys, Start.AddDays(103)));
        Assert.Equal([ServerKeyStatus.Removed, ServerKeyStatus.Current], StatusesAt(keys, Start.AddDays(104)));

        var states = ServerKeyLifecycle.Of(keys, Start.AddDays(80), Retain, Retain, Rotation);
        Assert.Equal(Start.AddDays(90), states[0].RetiresAt);
        Assert.Equal(Start.AddDays(104), states[0].RemovedAt);
        Assert.Equal(Start.AddDays(180), states[1].RetiresAt);
    }

    [Fact]
    public void ARevokedKey_IsRemovedAtOnce_AndTheOneAfterItIsCurrent()
    {
        var leaked = Key(1, Start);
        leaked.RevokedAt = Start.AddDays(10);
        ServerKey[] keys = [leaked, Key(2, Start.AddDays(10))];

        Assert.Equal([ServerKeyStatus.Removed, ServerKeyStatus.Current], StatusesAt(keys, Start.AddDays(10)));
    }

    [Fact]
    public void EncryptionKeys_AreKeptAsLongAsTheirOwnRetention()
    {
        ServerKey[] keys = [Key(1, Start, ServerKeyPurposes.Encryption), Key(2, Start.AddDays(90), ServerKeyPurposes.Encryption)];

        var states = ServerKeyLifecycle.Of(keys, Start.AddDays(110), Retain, TimeSpan.FromDays(30), Rotation);

        Assert.Equal(ServerKeyStatus.Retired, states[0].Status);
        Assert.Equal(Start.AddDays(120), states[0].RemovedAt);
    }

    [Fact]
    public void PurposesLiveApart()
    {
        ServerKey[] keys = [Key(1, Start), Key(1, Start.AddDays(5), ServerKeyPurposes.Encryption), Key(2, Start.AddDays(6), ServerKeyPurposes.Encryption)];

        Assert.Equal([ServerKeyStatus.Current, ServerKeyStatus.Retired, ServerKeyStatus.Current], StatusesAt(keys, Start.AddDays(7)));
    }

    private static List<ServerKeyStatus> StatusesAt(IEnumerable<ServerKey> keys, DateTimeOffset now) =>
        [.. ServerKeyLifecycle.Of(keys, now, Retain, Retain, Rotation).Select(state => state.Status)];

    private static ServerKey Key(int generation, DateTimeOffset activates, string purpose = ServerKeyPurposes.Signing) => new()
    {
        Purpose = purpose,
        Algorithm = purpose == ServerKeyPurposes.Signing ? "ES256" : "A256KW",
        KeyId = $"{purpose}-{generation}",
        ProtectedMaterial = "",
        Generation = generation,
        CreatedAt = activates.AddDays(-14),
        ActivatesAt = activates,
    };
}
