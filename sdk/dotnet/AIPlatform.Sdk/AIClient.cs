using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Timeout;

namespace AIPlatform.Sdk;

/// <summary>
/// The platform API (<c>/v1</c>): <c>new AIClient(new AIClientOptions { ApiKey = ... })</c>, or from
/// <c>services.AddAIClient(...)</c> with <c>IHttpClientFactory</c>. Retries honour <c>Retry-After</c>.
/// </summary>
public sealed class AIClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly string _authorization;

    /// <summary>A client with its own connection pool and retry pipeline.</summary>
    public AIClient(AIClientOptions? options = null)
        : this(options ?? new AIClientOptions(), http: null)
    {
    }

    /// <summary>A client on an <see cref="HttpClient"/> from <c>IHttpClientFactory</c> (retries are on its handler).</summary>
    [Microsoft.Extensions.DependencyInjection.ActivatorUtilitiesConstructor]
    public AIClient(HttpClient http, IOptions<AIClientOptions> options)
        : this(options?.Value ?? throw new ArgumentNullException(nameof(options)), http ?? throw new ArgumentNullException(nameof(http)))
    {
    }

    private AIClient(AIClientOptions options, HttpClient? http)
    {
        (_authorization, var baseUrl) = options.Resolve();
        _ownsHttp = http is null;
        _http = http ?? new HttpClient(new ResilienceHandler(Pipeline(options)) { InnerHandler = new SocketsHttpHandler() });
        _http.BaseAddress ??= baseUrl;
        // Each attempt has its own timeout in the pipeline; the whole call is bounded by the attempts together.
        _http.Timeout = System.Threading.Timeout.InfiniteTimeSpan;
        Models = new ModelsResource(this);
        User = new UserResource(this);
    }

    public ModelsResource Models { get; }

    public UserResource User { get; }

    public Uri? BaseUrl => _http.BaseAddress;

    /// <summary>Retries of 429, 5xx, 408, dropped connections and timeouts, waiting <c>Retry-After</c> when given.</summary>
    internal static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, AIClientOptions options)
    {
        if (options.MaxRetries > 0)
        {
            pipeline.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(500),
                MaxDelay = TimeSpan.FromSeconds(60),
                ShouldRetryAfterHeader = true,
            });
        }

        pipeline.AddTimeout(options.Timeout);
    }

    private static ResiliencePipeline<HttpResponseMessage> Pipeline(AIClientOptions options)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>();
        Configure(builder, options);
        return builder.Build();
    }

    internal async Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : ApiResult
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Authorization", _authorization);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("ai-platform-sdk-dotnet", "0.1.0"));

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException timeout)
        {
            throw new APIConnectionTimeoutException("The request timed out.", timeout);
        }
        catch (HttpRequestException failure)
        {
            throw new APIConnectionException($"Connection error: {failure.HttpRequestError}.", failure);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw await ErrorAsync(response, cancellationToken).ConfigureAwait(false);
            }

            var result = await JsonSerializer.DeserializeAsync(
                await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), type, cancellationToken).ConfigureAwait(false)
                ?? throw new AIPlatformException(response.StatusCode, null, "The answer had no body.", response.Headers);
            result.Response = new ResponseInfo((int)response.StatusCode, Header(response, "X-Request-Id"), new RateLimitInfo(
                Number(response, "X-RateLimit-Limit"), Number(response, "X-RateLimit-Remaining"), Number(response, "X-RateLimit-Reset")));
            return result;
        }
    }

    private static async Task<AIPlatformException> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        ErrorBody? error = null;
        try
        {
            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            error = (await JsonSerializer.DeserializeAsync(body, SdkJsonContext.Default.ErrorEnvelope, cancellationToken).ConfigureAwait(false))?.Error;
        }
        catch (JsonException)
        {
            // Not the platform's error shape (an empty 404, a proxy's page): the status says enough.
        }

        var status = response.StatusCode;
        var message = $"{(int)status} {error?.Type ?? "error"}: {error?.Message ?? response.ReasonPhrase}";
        var headers = response.Headers;
        return (int)status switch
        {
            400 => new BadRequestException(status, error?.Type, message, headers),
            401 => new AuthenticationException(status, error?.Type, message, headers),
            403 => new PermissionDeniedException(status, error?.Type, message, headers),
            404 => new NotFoundException(status, error?.Type, message, headers),
            429 => new RateLimitException(status, error?.Type, message, headers),
            >= 500 => new InternalServerException(status, error?.Type, message, headers),
            _ => new AIPlatformException(status, error?.Type, message, headers),
        };
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static long? Number(HttpResponseMessage response, string name) =>
        long.TryParse(Header(response, name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;

    public override string ToString() => $"AIClient {{ BaseUrl = {BaseUrl} }}";

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }
}

/// <summary><c>client.Models</c>: the models the platform serves.</summary>
public sealed class ModelsResource
{
    private readonly AIClient _client;

    internal ModelsResource(AIClient client) => _client = client;

    /// <summary><c>GET /v1/models</c>.</summary>
    public Task<ModelList> ListAsync(CancellationToken cancellationToken = default) =>
        _client.GetAsync("v1/models", SdkJsonContext.Default.ModelList, cancellationToken);
}

/// <summary><c>client.User</c>: the account the credential belongs to.</summary>
public sealed class UserResource
{
    private readonly AIClient _client;

    internal UserResource(AIClient client) => _client = client;

    /// <summary><c>GET /v1/user/profile</c>.</summary>
    public Task<UserProfile> GetProfileAsync(CancellationToken cancellationToken = default) =>
        _client.GetAsync("v1/user/profile", SdkJsonContext.Default.UserProfile, cancellationToken);
}
