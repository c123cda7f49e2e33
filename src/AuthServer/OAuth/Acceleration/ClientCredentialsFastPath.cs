using System.Buffers;
using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using AuthServer.Core;
using Microsoft.AspNetCore;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Net.Http.Headers;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace AuthServer.OAuth.Acceleration;

/// <summary>
/// Answers the common <c>client_credentials</c> request (a form POST with the grant type, the client's id and secret in
/// the Authorization header or the form, and optionally a scope) before OpenIddict extracts, validates and handles it:
/// the same checks, token and response as <see cref="AuthorizationController"/>'s through OpenIddict's pipeline, at a
/// fraction of the CPU, the token's row written with those of concurrent requests (<see cref="TokenGroupCommit"/>).
/// <c>ClientCredentialsFastPathTests</c> compares the two. Anything else goes on through OpenIddict untouched: another
/// grant, any other parameter or header, a credential or a scope that does not check out (OpenIddict then gives the
/// error), a setting this path does not implement.
/// </summary>
internal sealed class ClientCredentialsFastPath(
    IOpenIddictApplicationManager applications,
    IOpenIddictScopeManager scopes,
    TokenGroupCommit rows,
    EntityCache entities,
    ServerMetrics metrics,
    IOptions<OAuthOptions> oauth)
    : IOpenIddictServerHandler<ProcessRequestContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessRequestContext>()
            .AddFilter<OpenIddictServerAspNetCoreHandlerFilters.RequireHttpRequest>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireTokenRequest>()
            .UseScopedHandler<ClientCredentialsFastPath>()
            .SetOrder(OpenIddictServerHandlers.Exchange.ExtractTokenRequest.Descriptor.Order - 1_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    private static readonly ImmutableHashSet<string> AllowedParameters = ImmutableHashSet.Create(
        StringComparer.Ordinal, Parameters.GrantType, Parameters.Scope, Parameters.ClientId, Parameters.ClientSecret);

    public async ValueTask HandleAsync(ProcessRequestContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var http = context.Transaction.GetHttpRequest()!;
        if (!Implements(context.Options) || !IsPlainFormPost(http))
        {
            return;
        }

        var form = await http.ReadFormAsync(context.CancellationToken);
        if (!TryReadRequest(http, form, out var clientId, out var secret, out var requested))
        {
            return;
        }

        var cancellation = context.CancellationToken;
        var application = await applications.FindByClientIdAsync(clientId, cancellation);
        if (application is null || !await applications.HasClientTypeAsync(application, ClientTypes.Confidential, cancellation))
        {
            return;
        }

        var permissions = await applications.GetPermissionsAsync(application, cancellation);
        if (!permissions.Contains(Permissions.Endpoints.Token)
            || !permissions.Contains(Permissions.GrantTypes.ClientCredentials)
            || !requested.All(scope => context.Options.Scopes.Contains(scope) && !ServiceScopes.IsPersonScope(scope)
                && permissions.Contains(Permissions.Prefixes.Scope + scope))
            || !await applications.ValidateClientSecretAsync(application, secret, cancellation))
        {
            return;
        }

        // As OpenIddict's sign-in: dates in whole seconds (it keeps them as RFC 1123 strings), the client's own access
        // token lifetime if it has one, and the issuer configured or taken from the request.
        var clock = context.Options.TimeProvider!;
        var created = Truncate(clock.GetUtcNow());
        var lifetime = await LifetimeAsync(application, context.Options, cancellation);
        DateTimeOffset? expires = lifetime is { } span ? Truncate(created + span) : null;
        var issuer = (context.Options.Issuer ?? context.BaseUri)?.AbsoluteUri
            ?? throw new InvalidOperationException("The issuer could not be resolved.");

        var granted = requested.IsEmpty ? ServiceScopes.Default(permissions) : requested;
        var audiences = await scopes.AudiencesAsync(oauth.Value.Audience, granted, cancellation);

        // The row OpenIddict's token manager would create (its id as EF Core would generate it), written with the
        // rows of concurrent requests; the token is signed and returned only once it is committed.
        var row = new OpenIddictEntityFrameworkCoreToken
        {
            Id = Guid.NewGuid().ToString(),
            CreationDate = created.UtcDateTime,
            ExpirationDate = expires?.UtcDateTime,
            Status = Statuses.Valid,
            Subject = clientId,
            Type = TokenTypeIdentifiers.AccessToken,
        };
        var applicationId = (await applications.GetIdAsync(application, cancellation))!;
        try
        {
            await rows.InsertAsync(row, applicationId);
        }
        catch (Exception exception) when (DatabaseFailures.IsMissingReference(exception))
        {
            // The client was deleted, on another node, after this one cached it: forget it, and let OpenIddict read it
            // again and answer invalid_client.
            entities.InvalidateClient(clientId, applicationId);
            return;
        }

        var claims = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            [Claims.Subject] = clientId,
            [Claims.Private.Presenter] = clientId,
            [Claims.ClientId] = clientId,
            [Claims.Private.TokenId] = row.Id,
            [Claims.JwtId] = Guid.NewGuid().ToString(),
        };
        if (audiences.Count > 0)
        {
            claims[Claims.Audience] = audiences.Count == 1 ? audiences[0] : audiences.ToArray();
        }

        if (await applications.GetDisplayNameAsync(application, cancellation) is { Length: > 0 } name)
        {
            claims[Claims.Name] = name;
        }

        if (!granted.IsEmpty)
        {
            claims[Claims.Scope] = string.Join(' ', granted);
        }

        var token = context.Options.JsonWebTokenHandler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            Issuer = issuer,
            IssuedAt = created.UtcDateTime,
            Expires = expires?.UtcDateTime,
            TokenType = JsonWebTokenTypes.AccessToken,
            SigningCredentials = context.Options.SigningCredentials[0],
        });

        await WriteAsync(http.HttpContext.Response, token, expires - clock.GetUtcNow(),
            granted.ToHashSet(StringComparer.Ordinal).SetEquals(requested) ? null : string.Join(' ', granted));
        metrics.TokenIssued(GrantTypes.ClientCredentials);
        context.HandleRequest();
    }

    /// <summary>The settings under which this path gives what OpenIddict gives; under any other, OpenIddict answers.</summary>
    private static bool Implements(OpenIddictServerOptions options) =>
        options is
        {
            DisableAccessTokenEncryption: true,
            UseReferenceAccessTokens: false,
            DisableTokenStorage: false,
            EnableDegradedMode: false,
            UseClientCertificateBoundAccessTokens: false,
            SigningCredentials.Count: > 0,
        }
        && options.GrantTypes.Contains(GrantTypes.ClientCredentials);

    private static bool IsPlainFormPost(HttpRequest http) =>
        HttpMethods.IsPost(http.Method)
        && !http.QueryString.HasValue
        && !http.Headers.ContainsKey("DPoP")
        && MediaTypeHeaderValue.TryParse(http.ContentType, out var type)
        && type.MediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase)
        && (type.Charset.Length == 0 || type.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The grant type, the credentials (exactly one way: the Basic header or the form, read as OpenIddict reads them)
    /// and the scopes, each parameter given once and nothing else given.
    /// </summary>
    private static bool TryReadRequest(
        HttpRequest http, IFormCollection form, out string clientId, out string secret, out ImmutableArray<string> requested)
    {
        clientId = secret = string.Empty;
        requested = [];
        foreach (var (key, values) in form)
        {
            if (!AllowedParameters.Contains(key) || values.Count != 1 || string.IsNullOrEmpty(values[0]))
            {
                return false;
            }
        }

        var authorization = http.Headers.Authorization;
        if (form[Parameters.GrantType] != GrantTypes.ClientCredentials
            || authorization.Count > 1
            || (authorization.Count == 1 && (form.ContainsKey(Parameters.ClientId) || form.ContainsKey(Parameters.ClientSecret)))
            || ClientCredentials.Read(http, form) is not { } credentials)
        {
            return false;
        }

        (clientId, secret) = credentials;
        requested = form.TryGetValue(Parameters.Scope, out var scope)
            ? [.. scope.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal)]
            : [];
        return true;
    }

    private async ValueTask<TimeSpan?> LifetimeAsync(object application, OpenIddictServerOptions options, CancellationToken cancellation)
    {
        var settings = await applications.GetSettingsAsync(application, cancellation);
        return settings.TryGetValue(Settings.TokenLifetimes.AccessToken, out var value)
            && TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var lifetime)
                ? lifetime
                : options.AccessTokenLifetime;
    }

    private static DateTimeOffset Truncate(DateTimeOffset date) =>
        new(date.UtcTicks - (date.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    /// <summary>The token response as OpenIddict's ASP.NET Core host writes it (headers included).</summary>
    private static async Task WriteAsync(HttpResponse response, string token, TimeSpan? remaining, string? scope)
    {
        var buffer = new ArrayBufferWriter<byte>(token.Length + 128);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString(Parameters.AccessToken, token);
            json.WriteString(Parameters.TokenType, TokenTypes.Bearer);
            if (remaining is { } left)
            {
                json.WriteNumber(Parameters.ExpiresIn, (long)(left.TotalSeconds + .5));
            }

            if (scope is not null)
            {
                json.WriteString(Parameters.Scope, scope);
            }

            json.WriteEndObject();
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json;charset=UTF-8";
        response.ContentLength = buffer.WrittenCount;
        response.Headers.CacheControl = "no-store";
        response.Headers.Pragma = "no-cache";
        response.Headers.Expires = "Thu, 01 Jan 1970 00:00:00 GMT";
        await response.Body.WriteAsync(buffer.WrittenMemory);
    }
}
