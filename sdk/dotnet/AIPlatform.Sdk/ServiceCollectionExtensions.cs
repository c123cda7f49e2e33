using AIPlatform.Sdk;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class AIClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="AIClient"/> as a typed client of <c>IHttpClientFactory</c>, with the same retries and
    /// timeouts as a client made with <c>new</c>.
    /// </summary>
    public static IHttpClientBuilder AddAIClient(this IServiceCollection services, Action<AIClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<AIClientOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        var client = services.AddHttpClient<AIClient>();
        client.AddResilienceHandler("ai-platform", (pipeline, context) =>
            AIClient.Configure(pipeline, context.ServiceProvider.GetRequiredService<IOptions<AIClientOptions>>().Value));
        return client;
    }
}
