using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using AuthServer.Core;
using AuthServer.Data;
using AuthServer.OAuth.Keys;
using AuthServer.Retention;

namespace AuthServer.Cli;

/// <summary>The operator's verbs: <c>keys list</c>, <c>keys rotate [--now] [--use sig|enc]</c> and <c>prune</c>.</summary>
internal static partial class CommandLine
{
    private static Command KeysCommand(IServiceProvider services)
    {
        var list = new Command("list", "List the signing and encryption keys with their status (JSON).");
        list.SetAction(async (_, cancellationToken) =>
        {
            var keys = await services.GetRequiredService<ServerKeyStore>().ListAsync(cancellationToken);
            Console.WriteLine(JsonSerializer.Serialize(keys.Select(Describe).ToList(), Json));
            return 0;
        });

        var now = new Option<bool>("--now")
        {
            Description = "Emergency: the new key is used at once and every earlier key is withdrawn at once, so tokens they "
                + "signed stop validating (and, for the encryption key, codes and refresh tokens stop redeeming).",
        };
        var use = new Option<string>("--use")
        {
            Description = "Which keys: sig (signing), enc (encryption of codes and refresh tokens) or all.",
            DefaultValueFactory = _ => "all",
        };
        use.AcceptOnlyFromAmong("sig", "enc", "all");

        var rotate = new Command("rotate", "Announce a new key now (it is used after OAuth:Keys:AnnounceBefore), or with --now use it at once.")
        {
            now, use,
        };
        rotate.SetAction(async (parsed, cancellationToken) =>
        {
            var store = services.GetRequiredService<ServerKeyStore>();
            var wanted = parsed.GetValue(use) switch
            {
                "sig" => [ServerKeyPurposes.Signing],
                "enc" => [ServerKeyPurposes.Encryption],
                _ => store.ManagedPurposes,
            };
            if (wanted.FirstOrDefault(purpose => !store.ManagedPurposes.Contains(purpose)) is { } fixedPurpose)
            {
                throw new CommandLineException(
                    $"The {fixedPurpose} key is a certificate from configuration (OAuth:{(fixedPurpose == ServerKeyPurposes.Signing ? "Signing" : "Encryption")}CertificatePath); "
                    + "rotate it by deploying a new certificate.");
            }

            if (wanted.Count == 0)
            {
                throw new CommandLineException("Both keys are certificates from configuration; rotate them by deploying new certificates.");
            }

            // A new database gets its first keys before the rotation, as a starting server would.
            await store.EnsureAsync(cancellationToken);
            List<ServerKey> added;
            try
            {
                added = [.. await store.RotateAsync(wanted, parsed.GetValue(now), cancellationToken)];
            }
            catch (InvalidOperationException exception)
            {
                throw new CommandLineException(exception.Message);
            }

            // Running nodes read the keys at once when told through Redis; otherwise within OAuth:Keys:RefreshInterval.
            if (services.GetService<ICacheChannel>() is { } channel
                && !await channel.PublishAsync(ServerKeyRotation.CacheName, null, TimeSpan.FromSeconds(5)))
            {
                await Console.Error.WriteLineAsync("Redis could not be reached: running nodes read the new keys within OAuth:Keys:RefreshInterval.");
            }

            var kids = added.Select(key => key.KeyId).ToHashSet(StringComparer.Ordinal);
            var states = (await store.ListAsync(cancellationToken)).Where(state => kids.Contains(state.Key.KeyId));
            Console.WriteLine(JsonSerializer.Serialize(states.Select(Describe).ToList(), Json));
            return 0;
        });

        return new Command("keys", "Signing and encryption keys: list, rotate.") { list, rotate };
    }

    private static Command PruneCommand(IServiceProvider services)
    {
        var prune = new Command("prune", "Remove spent tokens and authorizations, old usage rows and audit events, and withdrawn keys, once (JSON counts).");
        prune.SetAction(async (_, cancellationToken) =>
        {
            var result = await PruningService.RunOnceAsync(services.GetRequiredService<IServiceScopeFactory>(), cancellationToken);
            Console.WriteLine(JsonSerializer.Serialize(result, Json));
            return 0;
        });
        return prune;
    }

    private static KeyDescription Describe(ServerKeyState state) => new(
        state.Key.KeyId,
        state.Key.Purpose == ServerKeyPurposes.Signing ? "sig" : "enc",
        state.Key.Algorithm,
        state.Status.ToString().ToLowerInvariant(),
        state.Key.CreatedAt,
        state.Key.ActivatesAt,
        state.RetiresAt);

    private sealed record KeyDescription(
        [property: JsonPropertyName("kid")] string KeyId,
        [property: JsonPropertyName("use")] string Use,
        [property: JsonPropertyName("alg")] string Algorithm,
        [property: JsonPropertyName("status")] string Status,
        [property: JsonPropertyName("created")] DateTimeOffset Created,
        [property: JsonPropertyName("activates")] DateTimeOffset Activates,
        [property: JsonPropertyName("retires")] DateTimeOffset? Retires);
}
