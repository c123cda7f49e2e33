namespace AIPlatform.Sdk;

/// <summary>How an <see cref="AIClient"/> reaches the platform API.</summary>
public sealed class AIClientOptions
{
    public const string ApiKeyVariable = "AI_PLATFORM_API_KEY";
    public const string BaseUrlVariable = "AI_PLATFORM_BASE_URL";

    /// <summary>An API key from the dashboard; defaults to the <c>AI_PLATFORM_API_KEY</c> environment variable.</summary>
    public string? ApiKey { get; set; }

    /// <summary>An OAuth access token, for an app calling the API for a person (instead of an API key).</summary>
    public string? AccessToken { get; set; }

    /// <summary>Defaults to <c>AI_PLATFORM_BASE_URL</c>, then <c>http://localhost:5000</c>.</summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>Retries of a 429, a 5xx, a dropped connection or a timeout. Default 2.</summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>How long one attempt may take. Default 60 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    // The key is never printed: this is what a log line or a debugger shows of the options.
    public override string ToString() => $"AIClientOptions {{ BaseUrl = {BaseUrl}, MaxRetries = {MaxRetries}, Timeout = {Timeout} }}";

    /// <summary>The options with the environment's defaults filled in; a missing credential is an error here.</summary>
    internal (string Authorization, Uri BaseUrl) Resolve()
    {
        var credential = AccessToken ?? ApiKey ?? Environment.GetEnvironmentVariable(ApiKeyVariable);
        if (string.IsNullOrWhiteSpace(credential))
        {
            throw new InvalidOperationException(
                $"No credential: set AIClientOptions.ApiKey or the {ApiKeyVariable} environment variable (or AccessToken).");
        }

        if (MaxRetries < 0)
        {
            throw new InvalidOperationException("MaxRetries must be 0 or more.");
        }

        if (Timeout <= TimeSpan.Zero)
        {
            throw new InvalidOperationException("Timeout must be positive.");
        }

        var baseUrl = BaseUrl
            ?? (Environment.GetEnvironmentVariable(BaseUrlVariable) is { Length: > 0 } fromEnvironment ? new Uri(fromEnvironment) : null)
            ?? new Uri("http://localhost:5000");
        return ($"Bearer {credential.Trim()}", baseUrl);
    }
}
