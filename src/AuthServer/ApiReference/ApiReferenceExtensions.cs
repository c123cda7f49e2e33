using AuthServer.Core;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace AuthServer.ApiReference;

/// <summary>
/// The OpenAPI 3.1 description of the platform API (<c>/v1</c>) and the admin API (<c>/admin</c>), generated from their
/// endpoints and served at <c>/openapi/v1.json</c>, and the API reference page at <c>/docs/api</c> (Scalar), on in
/// Development and with <c>ApiReference:Enabled</c> elsewhere. The SDKs in <c>sdk/</c> follow this document.
/// </summary>
internal static class ApiReferenceExtensions
{
    public const string DocumentName = "v1";

    public static IHostApplicationBuilder AddApiReference(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ApiReferenceOptions>().BindConfiguration(ApiReferenceOptions.SectionName);
        builder.Services.AddOpenApi(DocumentName, options =>
        {
            options.OpenApiVersion = OpenApiSpecVersion.OpenApi3_1;
            options.ShouldInclude = description => description.RelativePath is { } path
                && (IsUnder(path, Routes.PlatformApi) || IsUnder(path, Routes.Admin));
            options.AddDocumentTransformer<PlatformDocument>();
            options.AddOperationTransformer<PlatformOperations>();
        });
        return builder;
    }

    public static IEndpointRouteBuilder MapApiReference(this WebApplication app)
    {
        app.MapOpenApi(Routes.ApiDocument).AllowAnonymous();
        var enabled = app.Configuration.GetValue<bool?>($"{ApiReferenceOptions.SectionName}:{nameof(ApiReferenceOptions.Enabled)}")
            ?? app.Environment.IsDevelopment();
        if (enabled)
        {
            app.MapScalarApiReference(Routes.ApiReference, page => page
                .WithTitle("AuthServer API reference")
                .WithOpenApiRoutePattern(Routes.ApiDocument))
                .AllowAnonymous();
        }

        return app;
    }

    private static bool IsUnder(string relativePath, string prefix) =>
        relativePath.Equals(prefix[1..], StringComparison.OrdinalIgnoreCase)
        || relativePath.StartsWith(prefix[1..] + "/", StringComparison.OrdinalIgnoreCase);
}

internal sealed class ApiReferenceOptions
{
    public const string SectionName = "ApiReference";

    /// <summary>Serves the reference page at <c>/docs/api</c>; default: in Development only.</summary>
    public bool? Enabled { get; set; }
}
