using AuthServer.Core;
using Microsoft.Extensions.Options;
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
            options.ShouldInclude = description => new PathString("/" + description.RelativePath) is var path
                && (Routes.IsUnder(path, Routes.PlatformApi) || Routes.IsUnder(path, Routes.Admin));
            options.AddDocumentTransformer<PlatformDocument>();
            options.AddOperationTransformer<PlatformOperations>();
        });
        return builder;
    }

    public static IEndpointRouteBuilder MapApiReference(this WebApplication app)
    {
        app.MapOpenApi(Routes.ApiDocument).AllowAnonymous();
        var enabled = app.Services.GetRequiredService<IOptions<ApiReferenceOptions>>().Value.Enabled ?? app.Environment.IsDevelopment();
        if (enabled)
        {
            app.MapScalarApiReference(Routes.ApiReference, page => page
                .WithTitle("AuthServer API reference")
                // Its fonts come from a CDN the page's policy (and an offline server) does not reach.
                .DisableDefaultFonts()
                .WithOpenApiRoutePattern(Routes.ApiDocument))
                .AllowAnonymous();
        }

        return app;
    }
}

internal sealed class ApiReferenceOptions
{
    public const string SectionName = "ApiReference";

    /// <summary>Serves the reference page at <c>/docs/api</c>; default: in Development only.</summary>
    public bool? Enabled { get; set; }
}
