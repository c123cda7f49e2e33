using System.ComponentModel.DataAnnotations;

namespace AuthServer.PlatformApi;

/// <summary>The model catalogue served by <c>GET /v1/models</c>, from configuration.</summary>
public sealed class ModelCatalogOptions
{
    public const string SectionName = "Platform";

    public IList<ModelEntry> Models { get; } = [];
}

public sealed class ModelEntry
{
    [Required, StringLength(100, MinimumLength = 1)]
    public string Id { get; set; } = "";

    /// <summary>Unix time (seconds) the model was published.</summary>
    [Range(0, long.MaxValue)]
    public long Created { get; set; }

    [Required, StringLength(100, MinimumLength = 1)]
    public string OwnedBy { get; set; } = "";
}
