using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Core;
using OpenIddict.EntityFrameworkCore.Models;

namespace AuthServer.OAuth;

/// <summary>
/// OpenIddict's authorization manager, telling <see cref="AccessTokenStatus"/> of every revocation or deletion made
/// through it: an access token issued under a revoked grant is refused at once on this node's own APIs.
/// </summary>
internal sealed class AuthorizationManager(
    IOpenIddictAuthorizationCache<OpenIddictEntityFrameworkCoreAuthorization> cache,
    ILogger<OpenIddictAuthorizationManager<OpenIddictEntityFrameworkCoreAuthorization>> logger,
    IOptionsMonitor<OpenIddictCoreOptions> options,
    IOpenIddictAuthorizationStore<OpenIddictEntityFrameworkCoreAuthorization> store,
    AccessTokenStatus tokenStatus)
    : OpenIddictAuthorizationManager<OpenIddictEntityFrameworkCoreAuthorization>(cache, logger, options, store)
{
    public override async ValueTask<bool> TryRevokeAsync(OpenIddictEntityFrameworkCoreAuthorization authorization, CancellationToken cancellationToken = default)
    {
        var revoked = await base.TryRevokeAsync(authorization, cancellationToken);
        tokenStatus.InvalidateAll();
        return revoked;
    }

    public override async ValueTask<long> RevokeAsync(string? subject, string? client, string? status, string? type, CancellationToken cancellationToken = default)
    {
        var count = await base.RevokeAsync(subject, client, status, type, cancellationToken);
        tokenStatus.InvalidateAll();
        return count;
    }

    public override async ValueTask<long> RevokeByApplicationIdAsync(string identifier, CancellationToken cancellationToken = default)
    {
        var count = await base.RevokeByApplicationIdAsync(identifier, cancellationToken);
        tokenStatus.InvalidateAll();
        return count;
    }

    public override async ValueTask<long> RevokeBySubjectAsync(string subject, CancellationToken cancellationToken = default)
    {
        var count = await base.RevokeBySubjectAsync(subject, cancellationToken);
        tokenStatus.InvalidateAll();
        return count;
    }

    public override async ValueTask DeleteAsync(OpenIddictEntityFrameworkCoreAuthorization authorization, CancellationToken cancellationToken = default)
    {
        await base.DeleteAsync(authorization, cancellationToken);
        tokenStatus.InvalidateAll();
    }
}
