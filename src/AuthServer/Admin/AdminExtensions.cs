using System.Globalization;
using AuthServer.Accounts;
using AuthServer.ApiKeys;
using AuthServer.Core;
using AuthServer.PlatformApi;
using AuthServer.Usage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.Admin;

/// <summary>
/// The admin HTTP API. Callers are either a person signed in on the server's own pages in role <c>admin</c> (the
/// session cookie), or an admin client with a <c>client_credentials</c> access token carrying scope <c>admin</c>.
/// A person's role never counts through a bearer token: an app the person approved acts with the scopes it was
/// granted, and <c>admin</c> is never granted through the authorization-code flow.
/// </summary>
internal static class AdminExtensions
{
    public const string Scheme = "Admin";
    public const string Policy = "admin";
    public const string AdminScope = PlatformScopes.Admin;

    public static IHostApplicationBuilder AddAdmin(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        // A request with an Authorization header is an API client; one with the session cookie is a person.
        services.AddAuthentication().AddPolicyScheme(Scheme, "Admin API", options =>
            options.ForwardDefaultSelector = context =>
                context.Request.Headers.Authorization.Count == 0
                && context.Request.Cookies.ContainsKey(AccountsExtensions.SessionCookie)
                    ? IdentityConstants.ApplicationScheme
                    : PlatformBearerHandler.SchemeName);

        // A parameter or body that cannot be read throws, so that UseAdminErrors answers it in the API's error shape
        // (minimal APIs otherwise answer an empty 400).
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);

        // Read once: whether a person's admin role counts only in a session signed in with a second factor.
        var secondFactor = builder.Configuration.GetSection(AccountsOptions.SectionName).Get<AccountsOptions>()?.RequireTwoFactorForAdmins
            ?? !builder.Environment.IsDevelopment();
        services.AddAuthorizationBuilder().AddPolicy(Policy, policy => policy
            .AddAuthenticationSchemes(Scheme)
            .RequireAuthenticatedUser()
            .RequireAssertion(context => IsAdmin(context.User, secondFactor)));
        return builder;
    }

    /// <summary>
    /// The role counts only for a session cookie (signed in with a second factor when <paramref name="secondFactor"/>);
    /// the scope only for an access token (never an API key).
    /// </summary>
    internal static bool IsAdmin(System.Security.Claims.ClaimsPrincipal user, bool secondFactor) =>
        user.Identities.Any(identity => identity.IsAuthenticated && identity.AuthenticationType switch
        {
            var type when type == IdentityConstants.ApplicationScheme =>
                user.IsInRole(AccountsExtensions.AdminRole) && (!secondFactor || TwoFactorSignIn.HasSecondFactor(user)),
            PlatformBearerHandler.SchemeName => identity.HasClaim(PlatformBearerHandler.CredentialTypeClaim, PlatformBearerHandler.AccessTokenCredential)
                && identity.HasScope(AdminScope),
            _ => false,
        });

    public static IEndpointRouteBuilder MapAdmin(this IEndpointRouteBuilder endpoints)
    {
        var admin = endpoints.MapGroup(Routes.Admin).RequireAuthorization(Policy).WithTags("Admin").WithMetadata(AdminApiEndpoint.Instance);

        admin.MapGet("/accounts/{accountId}/keys", async (string accountId, ApiKeyService keys, CancellationToken cancellationToken) =>
            TypedResults.Ok(await keys.ListAsync(accountId, cancellationToken)));

        admin.MapDelete("/keys/{keyId}", RevokeKeyAsync);
        admin.MapClientsAdmin();
        admin.MapScopesAdmin();
        admin.MapGet("/audit", ListAuditAsync);
        admin.MapPut("/accounts/{accountId}/tier", SetTierAsync);
        admin.MapPut("/clients/{clientId}/tier", SetClientTierAsync);
        admin.MapGet("/usage", GetUsageAsync);

        return endpoints;
    }

    /// <summary>
    /// Goes after routing: a request to an admin endpoint whose parameters or body cannot be read (a number too large,
    /// malformed JSON) is answered 400 <c>invalid_request</c> with what could not be read, never a 500 or an empty body.
    /// </summary>
    public static IApplicationBuilder UseAdminErrors(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<AdminApiEndpoint>() is null)
            {
                await next(context);
                return;
            }

            try
            {
                await next(context);
            }
            catch (BadHttpRequestException exception) when (!context.Response.HasStarted)
            {
                context.Response.Clear();
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.Response.WriteAsJsonAsync(new AdminError("invalid_request", exception.Message));
            }
        });

    private static async Task<Results<NoContent, NotFound<AdminError>>> RevokeKeyAsync(
        string keyId, ApiKeyService keys, HttpContext context, CancellationToken cancellationToken)
    {
        try
        {
            await keys.RevokeAsync(ownerId: null, keyId, Actor(context), cancellationToken);
            return TypedResults.NoContent();
        }
        catch (ApiKeyException exception)
        {
            return TypedResults.NotFound(new AdminError("not_found", exception.Message));
        }
    }

    /// <summary>Sets an account's tier: <c>{"tier":"pro"}</c>, or <c>{"tier":"enterprise","requests_per_minute":5000}</c>.</summary>
    private static async Task<Results<Ok<TierResponse>, BadRequest<AdminError>, NotFound<AdminError>>> SetTierAsync(
        string accountId, TierRequest request, AccountTierService tiers, HttpContext context, CancellationToken cancellationToken)
    {
        if (AccountTierService.Validate(request.Tier, request.RequestsPerMinute) is { } error)
        {
            return TypedResults.BadRequest(new AdminError("invalid_request", error));
        }

        var user = await tiers.SetAsync(accountId, request.Tier!, request.RequestsPerMinute, Actor(context), cancellationToken);
        return user is null
            ? TypedResults.NotFound(new AdminError("not_found", $"No account '{accountId}'."))
            : TypedResults.Ok(new TierResponse(user.Id, user.Tier, user.RequestsPerMinute));
    }

    /// <summary>The audit log, newest first, paged.</summary>
    private static async Task<Ok<AuditPage>> ListAuditAsync(
        AuthServer.Data.AuthDbContext db, int? offset, int? limit, string? account, CancellationToken cancellationToken)
    {
        var skip = Math.Max(offset ?? 0, 0);
        var take = Math.Clamp(limit ?? 50, 1, 200);
        var query = db.AuditEvents.AsNoTracking();
        if (!string.IsNullOrEmpty(account))
        {
            query = query.Where(e => e.AccountId == account);
        }

        var events = await query.OrderByDescending(e => e.Id).Skip(skip).Take(take)
            .Select(e => new AuditEventResponse(e.Id, e.At, e.Actor, e.Action, e.Target, e.AccountId, e.IpAddress, e.Details))
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(new AuditPage(events, skip, take));
    }

    /// <summary>Sets the tier of a client registered by an admin (same body as an account's tier).</summary>
    private static async Task<Results<Ok<ClientTierResponse>, BadRequest<AdminError>, NotFound<AdminError>, Conflict<AdminError>>> SetClientTierAsync(
        string clientId, TierRequest request, AccountTierService tiers, HttpContext context, CancellationToken cancellationToken)
    {
        if (AccountTierService.Validate(request.Tier, request.RequestsPerMinute) is { } error)
        {
            return TypedResults.BadRequest(new AdminError("invalid_request", error));
        }

        try
        {
            var tier = await tiers.SetClientAsync(clientId, request.Tier!, request.RequestsPerMinute, Actor(context), cancellationToken);
            return tier is null
                ? TypedResults.NotFound(new AdminError("not_found", "No client has this client_id."))
                : TypedResults.Ok(new ClientTierResponse(tier.ClientId, tier.Tier, tier.RequestsPerMinute));
        }
        catch (InvalidOperationException exception)
        {
            return TypedResults.Conflict(new AdminError("billed_to_owner", exception.Message));
        }
    }

    /// <summary>
    /// Usage as JSON: <c>?account=&amp;from=&amp;to=&amp;granularity=</c>. <c>from</c> and <c>to</c> are ISO 8601 times
    /// (default: the last 24 hours, at most 31 days apart); <c>granularity</c> is <c>minute</c>, <c>hour</c> (default)
    /// or <c>day</c>; without <c>account</c>, all accounts together.
    /// </summary>
    private static async Task<Results<Ok<UsageReport>, BadRequest<AdminError>>> GetUsageAsync(
        string? account, string? from, string? to, string? granularity, UsageQueries usage, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        static bool TryParse(string? text, DateTimeOffset fallback, out DateTimeOffset value)
        {
            value = fallback;
            return string.IsNullOrEmpty(text)
                || DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value);
        }

        var now = clock.GetUtcNow();
        if (!TryParse(to, now, out var end) || !TryParse(from, end.AddDays(-1), out var start))
        {
            return TypedResults.BadRequest(new AdminError("invalid_request", "'from' and 'to' must be ISO 8601 times, such as 2026-11-28T00:00:00Z."));
        }

        if (start >= end || end - start > TimeSpan.FromDays(31))
        {
            return TypedResults.BadRequest(new AdminError("invalid_request", "'from' must be before 'to', and at most 31 days before it."));
        }

        granularity ??= "hour";
        if (!UsageQueries.Granularities.ContainsKey(granularity)
            || (granularity == "minute" && end - start > TimeSpan.FromDays(1)))
        {
            return TypedResults.BadRequest(new AdminError(
                "invalid_request", "'granularity' is minute (for at most a day), hour or day."));
        }

        return TypedResults.Ok(await usage.ReportAsync(
            string.IsNullOrEmpty(account) ? null : account, start.ToUniversalTime(), end.ToUniversalTime(), granularity, cancellationToken));
    }

    /// <summary>Who is acting: the signed-in admin's user id, or the client id of an admin client.</summary>
    public static string Actor(HttpContext context) =>
        context.User.GetClaim(Claims.Subject)
        ?? context.User.FindFirst(System.Security.Claims.ClaimTypes.NameIdentifier)?.Value
        ?? context.User.GetClaim(Claims.ClientId)
        ?? "unknown";
}

internal sealed record AuditEventResponse(
    [property: System.Text.Json.Serialization.JsonPropertyName("id")] long Id,
    [property: System.Text.Json.Serialization.JsonPropertyName("at")] DateTimeOffset At,
    [property: System.Text.Json.Serialization.JsonPropertyName("actor")] string Actor,
    [property: System.Text.Json.Serialization.JsonPropertyName("action")] string Action,
    [property: System.Text.Json.Serialization.JsonPropertyName("target")] string? Target,
    [property: System.Text.Json.Serialization.JsonPropertyName("account_id")] string? AccountId,
    [property: System.Text.Json.Serialization.JsonPropertyName("ip_address")] string? IpAddress,
    [property: System.Text.Json.Serialization.JsonPropertyName("details")] string? Details);

internal sealed record AuditPage(
    [property: System.Text.Json.Serialization.JsonPropertyName("events")] IReadOnlyList<AuditEventResponse> Events,
    [property: System.Text.Json.Serialization.JsonPropertyName("offset")] int Offset,
    [property: System.Text.Json.Serialization.JsonPropertyName("limit")] int Limit);

internal sealed record TierRequest(
    [property: System.Text.Json.Serialization.JsonPropertyName("tier")] string? Tier,
    [property: System.Text.Json.Serialization.JsonPropertyName("requests_per_minute")] int? RequestsPerMinute);

internal sealed record TierResponse(
    [property: System.Text.Json.Serialization.JsonPropertyName("account_id")] string AccountId,
    [property: System.Text.Json.Serialization.JsonPropertyName("tier")] string Tier,
    [property: System.Text.Json.Serialization.JsonPropertyName("requests_per_minute")] int? RequestsPerMinute);

internal sealed record ClientTierResponse(
    [property: System.Text.Json.Serialization.JsonPropertyName("client_id")] string ClientId,
    [property: System.Text.Json.Serialization.JsonPropertyName("tier")] string Tier,
    [property: System.Text.Json.Serialization.JsonPropertyName("requests_per_minute")] int? RequestsPerMinute);

/// <summary>Marks the admin API's endpoints, for <see cref="AdminExtensions.UseAdminErrors"/>.</summary>
internal sealed class AdminApiEndpoint
{
    public static readonly AdminApiEndpoint Instance = new();
}

internal sealed record AdminError(
    [property: System.Text.Json.Serialization.JsonPropertyName("error")] string Error,
    [property: System.Text.Json.Serialization.JsonPropertyName("error_description")] string ErrorDescription);
