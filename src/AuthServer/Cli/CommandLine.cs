using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using AuthServer.Accounts;
using AuthServer.Clients;
using AuthServer.Core;
using AuthServer.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AuthServer.Cli;

/// <summary>
/// The verbs of the executable: <c>migrate</c>, <c>users</c>, <c>clients</c>, <c>keys</c>, <c>prune</c>. They are a contract:
/// scripts call them as written. Each prints its result on stdout and exits 0, or prints one line on stderr and
/// exits non-zero.
/// </summary>
internal static partial class CommandLine
{
    private static readonly string[] Verbs = ["migrate", "users", "clients", "keys", "prune", "--help", "-h", "-?"];

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static bool IsVerb(string[] args) => args.Length > 0 && Verbs.Contains(args[0], StringComparer.Ordinal);

    public static async Task<int> RunAsync(IServiceProvider services, string[] args)
    {
        var root = new RootCommand("AuthServer: OAuth 2.0 authorization server. Without a verb, the server runs.");
        root.Subcommands.Add(MigrateCommand(services));
        root.Subcommands.Add(UsersCommand(services));
        root.Subcommands.Add(ClientsCommand(services));
        root.Subcommands.Add(KeysCommand(services));
        root.Subcommands.Add(PruneCommand(services));

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            await Console.Error.WriteLineAsync($"error: {parsed.Errors[0].Message}");
            return 2;
        }

        try
        {
            // Our own handler below prints one line; System.CommandLine's would print a stack trace.
            return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception exception) when (exception is CommandLineException or System.Data.Common.DbException or DbUpdateException)
        {
            await Console.Error.WriteLineAsync($"error: {exception.Message}");
            return 1;
        }
    }

    private static Command MigrateCommand(IServiceProvider services)
    {
        var command = new Command("migrate", "Apply pending database migrations.");
        command.SetAction(async (_, cancellationToken) =>
        {
            await using var scope = services.CreateAsyncScope();
            var context = scope.ServiceProvider.GetRequiredService<AuthDbContext>();
            var pending = (await context.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
            await context.Database.MigrateAsync(cancellationToken);
            Console.WriteLine(pending.Count == 0
                ? "The database is up to date."
                : $"Applied {pending.Count} migration(s): {string.Join(", ", pending)}.");
            return 0;
        });
        return command;
    }

    private static Command UsersCommand(IServiceProvider services)
    {
        var email = new Option<string>("--email") { Description = "The user's email (also the sign-in name).", Required = true };
        var password = new Option<string>("--password") { Description = "The user's password.", Required = true };
        var name = new Option<string?>("--name") { Description = "The user's display name." };
        var admin = new Option<bool>("--admin") { Description = "Put the user in the admin role." };

        var create = new Command("create", "Create a user.") { email, password, name, admin };
        create.SetAction(async (parsed, cancellationToken) =>
        {
            await using var scope = services.CreateAsyncScope();
            var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
            var user = new ApplicationUser
            {
                UserName = parsed.GetValue(email),
                Email = parsed.GetValue(email),
                DisplayName = parsed.GetValue(name),
                EmailConfirmed = true,
                CreatedAt = scope.ServiceProvider.GetRequiredService<TimeProvider>().GetUtcNow(),
            };

            Check(await users.CreateAsync(user, parsed.GetValue(password)!));
            if (parsed.GetValue(admin))
            {
                var roles = scope.ServiceProvider.GetRequiredService<RoleManager<IdentityRole>>();
                if (!await roles.RoleExistsAsync(AccountsExtensions.AdminRole))
                {
                    Check(await roles.CreateAsync(new IdentityRole(AccountsExtensions.AdminRole)));
                }

                Check(await users.AddToRoleAsync(user, AccountsExtensions.AdminRole));
            }

            Console.WriteLine(JsonSerializer.Serialize(
                new CreatedUser(user.Id, user.Email!, parsed.GetValue(admin)), Json));
            _ = cancellationToken;
            return 0;
        });

        var tierEmail = new Option<string>("--email") { Description = "The account's email.", Required = true };
        var tier = new Option<string>("--tier") { Description = "free, pro or enterprise.", Required = true };
        var perMinute = new Option<int?>("--requests-per-minute") { Description = "The enterprise limit." };
        var setTier = new Command("set-tier", "Set an account's rate-limit tier.") { tierEmail, tier, perMinute };
        setTier.SetAction(async (parsed, cancellationToken) =>
        {
            if (AccountTierService.Validate(parsed.GetValue(tier), parsed.GetValue(perMinute)) is { } error)
            {
                throw new CommandLineException(error);
            }

            await using var scope = services.CreateAsyncScope();
            var user = await scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>().FindByEmailAsync(parsed.GetValue(tierEmail)!)
                ?? throw new CommandLineException($"No account with the email '{parsed.GetValue(tierEmail)}'.");
            var updated = await scope.ServiceProvider.GetRequiredService<AccountTierService>()
                .SetAsync(user.Id, parsed.GetValue(tier)!, parsed.GetValue(perMinute), "cli", cancellationToken);
            Console.WriteLine(JsonSerializer.Serialize(new TierChanged(updated!.Id, updated.Tier, updated.RequestsPerMinute), Json));
            return 0;
        });

        var resetEmail = new Option<string>("--email") { Description = "The account's email.", Required = true };
        var reset = new Command("reset-second-factors",
            "Turn off a person's authenticator app and remove their passkeys (they lost them), and end their sessions.") { resetEmail };
        reset.SetAction(async (parsed, cancellationToken) =>
        {
            await using var scope = services.CreateAsyncScope();
            var users = scope.ServiceProvider.GetRequiredService<AccountUserManager>();
            var user = await users.FindByEmailAsync(parsed.GetValue(resetEmail)!)
                ?? throw new CommandLineException($"No account with the email '{parsed.GetValue(resetEmail)}'.");
            var issuer = scope.ServiceProvider.GetRequiredService<IOptions<OAuth.OAuthOptions>>().Value.Issuer;
            var removed = await scope.ServiceProvider.GetRequiredService<SecondFactorReset>().ResetAsync(
                user, "cli", issuer is null ? null : new Uri(issuer, Routes.Security.TrimStart('/')), cancellationToken);
            Console.WriteLine(JsonSerializer.Serialize(new SecondFactorsReset(user.Id, user.Email!, removed.AuthenticatorWasOn, removed.Passkeys), Json));
            return 0;
        });

        return new Command("users", "Manage users.") { create, setTier, reset };
    }

    private static Command ClientsCommand(IServiceProvider services)
    {
        var name = new Option<string>("--name") { Description = "The client's display name.", Required = true };
        var redirectUris = new Option<string[]>("--redirect-uri")
        {
            Description = "A redirect URI (repeat for several); required for the authorization_code grant.",
            AllowMultipleArgumentsPerToken = true,
        };
        var grants = new Option<string[]>("--grant")
        {
            Description = "Grant types (default: authorization_code refresh_token; or client_credentials for a service).",
            AllowMultipleArgumentsPerToken = true,
        };
        var admin = new Option<bool>("--admin")
        {
            Description = "An admin client: confidential, client_credentials only, scope admin (the admin API).",
        };
        var isPublic = new Option<bool>("--public") { Description = "A public client (no secret: SPA, native app)." };
        var scopes = new Option<string[]>("--scope")
        {
            Description = $"Scopes the client may request (default: {string.Join(' ', ClientRegistrar.DefaultScopes)}).",
            AllowMultipleArgumentsPerToken = true,
        };

        var clientId = new Option<string?>("--client-id")
        {
            Description = "Choose the client_id (default: generated); a resource server that introspects takes its audience, e.g. platform-api.",
        };

        var create = new Command("create", "Register an OAuth client; prints its client_id and, once, its client_secret.")
        {
            name, redirectUris, isPublic, scopes, grants, admin, clientId,
        };
        create.SetAction(async (parsed, cancellationToken) =>
        {
            var uris = new List<Uri>();
            foreach (var value in parsed.GetValue(redirectUris) ?? [])
            {
                uris.Add(Uri.TryCreate(value, UriKind.Absolute, out var uri)
                    ? uri
                    : throw new CommandLineException($"'{value}' is not an absolute URI."));
            }

            static List<string> Words(string[]? values) =>
                [.. (values ?? []).SelectMany(value => value.Split(' ', StringSplitOptions.RemoveEmptyEntries))];

            var requested = Words(parsed.GetValue(scopes));
            var grantTypes = Words(parsed.GetValue(grants));
            if (parsed.GetValue(admin))
            {
                if (grantTypes.Any(grant => grant != "client_credentials") || parsed.GetValue(isPublic))
                {
                    throw new CommandLineException("--admin makes a confidential client_credentials client; drop --grant and --public.");
                }

                grantTypes = ["client_credentials"];
                requested = [.. requested.Append(PlatformScopes.Admin).Distinct(StringComparer.Ordinal)];
            }

            var clientCredentialsOnly = grantTypes.Count > 0 && !grantTypes.Contains("authorization_code");
            var registration = new ClientRegistration(
                parsed.GetValue(name)!,
                uris,
                parsed.GetValue(isPublic),
                requested.Count > 0 ? requested
                    : clientCredentialsOnly ? [PlatformScopes.Read] : ClientRegistrar.DefaultScopes,
                GrantTypes: grantTypes,
                ClientId: parsed.GetValue(clientId));

            await using var scope = services.CreateAsyncScope();
            RegisteredClient client;
            try
            {
                client = await scope.ServiceProvider.GetRequiredService<ClientRegistrar>()
                    .RegisterAsync(registration, cancellationToken);
            }
            catch (ClientRegistrationException exception)
            {
                throw new CommandLineException(exception.Message);
            }

            Console.WriteLine(JsonSerializer.Serialize(new CreatedClient(
                client.ClientId,
                client.ClientSecret,
                registration.Name,
                [.. registration.RedirectUris.Select(uri => uri.OriginalString)],
                registration.EffectiveGrantTypes,
                string.Join(' ', registration.Scopes),
                registration.IsPublic ? "none" : "client_secret_basic"), Json));
            return 0;
        });

        var tierClient = new Option<string>("--client-id") { Description = "The client_id of a client an admin registered.", Required = true };
        var tier = new Option<string>("--tier") { Description = "free, pro or enterprise.", Required = true };
        var perMinute = new Option<int?>("--requests-per-minute") { Description = "The enterprise limit." };
        var setTier = new Command("set-tier", "Set the rate-limit tier of a client registered by an admin.") { tierClient, tier, perMinute };
        setTier.SetAction(async (parsed, cancellationToken) =>
        {
            if (AccountTierService.Validate(parsed.GetValue(tier), parsed.GetValue(perMinute)) is { } error)
            {
                throw new CommandLineException(error);
            }

            await using var scope = services.CreateAsyncScope();
            ClientTier? updated;
            try
            {
                updated = await scope.ServiceProvider.GetRequiredService<AccountTierService>()
                    .SetClientAsync(parsed.GetValue(tierClient)!, parsed.GetValue(tier)!, parsed.GetValue(perMinute), "cli", cancellationToken);
            }
            catch (InvalidOperationException exception)
            {
                throw new CommandLineException(exception.Message);
            }

            if (updated is null)
            {
                throw new CommandLineException($"No client with the client_id '{parsed.GetValue(tierClient)}'.");
            }

            Console.WriteLine(JsonSerializer.Serialize(new TierChanged(updated.ClientId, updated.Tier, updated.RequestsPerMinute), Json));
            return 0;
        });

        return new Command("clients", "Manage OAuth clients.") { create, setTier };
    }

    private static void Check(IdentityResult result)
    {
        if (!result.Succeeded)
        {
            throw new CommandLineException(string.Join(" ", result.Errors.Select(error => error.Description)));
        }
    }

    private sealed record CreatedUser(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("email")] string Email,
        [property: JsonPropertyName("admin")] bool Admin);

    private sealed record TierChanged(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("tier")] string Tier,
        [property: JsonPropertyName("requests_per_minute")] int? RequestsPerMinute);

    private sealed record SecondFactorsReset(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("email")] string Email,
        [property: JsonPropertyName("authenticator_was_on")] bool AuthenticatorWasOn,
        [property: JsonPropertyName("passkeys_removed")] int PasskeysRemoved);

    private sealed record CreatedClient(
        [property: JsonPropertyName("client_id")] string ClientId,
        [property: JsonPropertyName("client_secret")] string? ClientSecret,
        [property: JsonPropertyName("client_name")] string ClientName,
        [property: JsonPropertyName("redirect_uris")] IReadOnlyList<string> RedirectUris,
        [property: JsonPropertyName("grant_types")] IReadOnlyList<string> GrantTypes,
        [property: JsonPropertyName("scope")] string Scope,
        [property: JsonPropertyName("token_endpoint_auth_method")] string TokenEndpointAuthMethod);
}

/// <summary>A bad input to a verb: reported as one line on stderr.</summary>
internal sealed class CommandLineException(string message) : Exception(message);
