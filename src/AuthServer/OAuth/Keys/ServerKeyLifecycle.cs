using AuthServer.Data;

namespace AuthServer.OAuth.Keys;

/// <summary>Where a key is in its life.</summary>
internal enum ServerKeyStatus
{
    /// <summary>Published in the JWKS (and loaded for decryption), not yet used.</summary>
    Announced,

    /// <summary>Signs (or encrypts) new tokens.</summary>
    Current,

    /// <summary>No longer used, still published so that what it signed validates.</summary>
    Retired,

    /// <summary>Neither used nor published; the row waits for the pruner.</summary>
    Removed,
}

/// <summary>A key with its status at one moment, and the times it changes status.</summary>
internal sealed record ServerKeyState(ServerKey Key, ServerKeyStatus Status, DateTimeOffset? RetiresAt, DateTimeOffset? RemovedAt);

/// <summary>
/// Reads the life of the keys from their rows, the same way on every node: within a purpose, the activated key of the
/// highest generation is current; an earlier activated key retires when its successor activates and is removed
/// <see cref="ServerKeyOptions.RetainAfter"/> later; a revoked key is removed at once.
/// </summary>
internal static class ServerKeyLifecycle
{
    public static IReadOnlyList<ServerKeyState> Of(IEnumerable<ServerKey> keys, DateTimeOffset now, TimeSpan retainSigning, TimeSpan retainEncryption, TimeSpan rotationInterval)
    {
        var states = new List<ServerKeyState>();
        foreach (var purpose in keys.GroupBy(key => key.Purpose, StringComparer.Ordinal))
        {
            var retain = purpose.Key == ServerKeyPurposes.Encryption ? retainEncryption : retainSigning;
            var live = purpose.Where(key => key.RevokedAt is null).OrderBy(key => key.Generation).ToList();
            var current = live.LastOrDefault(key => key.ActivatesAt <= now);
            foreach (var key in purpose.OrderBy(key => key.Generation))
            {
                if (key.RevokedAt is { } revoked)
                {
                    states.Add(new ServerKeyState(key, ServerKeyStatus.Removed, revoked, revoked));
                    continue;
                }

                // The successor is the next live key: this key signs until it activates.
                var successor = live.FirstOrDefault(other => other.Generation > key.Generation);
                var retires = successor?.ActivatesAt ?? (key == current || key.ActivatesAt > now ? key.ActivatesAt + rotationInterval : null);
                var status = key.ActivatesAt > now
                    ? ServerKeyStatus.Announced
                    : key == current
                        ? ServerKeyStatus.Current
                        : retires + retain > now ? ServerKeyStatus.Retired : ServerKeyStatus.Removed;
                states.Add(new ServerKeyState(key, status, retires, retires + retain));
            }
        }

        return states;
    }
}
