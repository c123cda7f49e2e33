using System.Text.Json;
using AuthServer.OAuth;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AuthServer.Clients;

/// <summary>
/// Replaces a confidential client's secret. The new secret is returned once; the old one keeps working for the
/// grace period given (none to seven days), so a deployment can switch without downtime, then stops.
/// </summary>
internal sealed class ClientSecretRotator(ClientApplicationManager applications, TimeProvider clock)
{
    public static readonly TimeSpan MaxGracePeriod = TimeSpan.FromDays(7);

    /// <summary>The new secret, or <see langword="null"/> when there is no such confidential client.</summary>
    public async Task<string?> RotateAsync(string clientId, TimeSpan grace, CancellationToken cancellationToken)
    {
        if (grace < TimeSpan.Zero || grace > MaxGracePeriod)
        {
            throw new ArgumentOutOfRangeException(nameof(grace), grace, "The grace period is between none and 7 days.");
        }

        var application = await applications.FindByClientIdAsync(clientId, cancellationToken);
        if (application is null || await applications.HasClientTypeAsync(application, ClientTypes.Public, cancellationToken))
        {
            return null;
        }

        var descriptor = new OpenIddictApplicationDescriptor();
        await applications.PopulateAsync(descriptor, application, cancellationToken);
        descriptor.Properties.Remove(ClientApplicationManager.PreviousSecretProperty);
        if (grace > TimeSpan.Zero && application.ClientSecret is { } previousHash)
        {
            descriptor.Properties[ClientApplicationManager.PreviousSecretProperty] = JsonSerializer.SerializeToElement(new
            {
                hash = previousHash,
                expires_at = (clock.GetUtcNow() + grace).ToUnixTimeSeconds(),
            });
        }

        var secret = ClientRegistrar.NewSecret();
        descriptor.ClientSecret = secret;
        await applications.UpdateAsync(application, descriptor, cancellationToken);
        return secret;
    }
}
