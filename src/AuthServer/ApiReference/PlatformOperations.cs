using AuthServer.Core;
using AuthServer.PlatformApi;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AuthServer.ApiReference;

/// <summary>
/// What each operation adds to what its endpoint declares: who may call it (the scopes a <c>/v1</c> endpoint
/// requires), the errors the gates in front of it answer, and the headers of its answers.
/// </summary>
internal sealed class PlatformOperations : IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var document = context.Document!;
        var path = "/" + context.Description.RelativePath;
        operation.Responses ??= new OpenApiResponses();
        operation.Security ??= [];
        if (Routes.IsUnder(path, Routes.PlatformApi))
        {
            var scopes = context.Description.ActionDescriptor.EndpointMetadata.OfType<RequiredScopes>().FirstOrDefault()?.AnyOf ?? [];
            operation.Security.Add(new OpenApiSecurityRequirement { [new(PlatformDocument.BearerScheme, document)] = [] });
            operation.Security.Add(new OpenApiSecurityRequirement { [new(PlatformDocument.UserOAuthScheme, document)] = [.. scopes] });
            foreach (var (_, response) in operation.Responses)
            {
                if (response is OpenApiResponse success)
                {
                    success.Headers ??= new Dictionary<string, IOpenApiHeader>();
                    success.Headers[PlatformDocument.RateLimitLimit] = new OpenApiHeaderReference(PlatformDocument.RateLimitLimit, document);
                    success.Headers[PlatformDocument.RateLimitRemaining] = new OpenApiHeaderReference(PlatformDocument.RateLimitRemaining, document);
                    success.Headers[PlatformDocument.RateLimitReset] = new OpenApiHeaderReference(PlatformDocument.RateLimitReset, document);
                    success.Headers[PlatformDocument.RequestId] = new OpenApiHeaderReference(PlatformDocument.RequestId, document);
                }
            }

            operation.Responses["401"] = Error(document, PlatformDocument.PlatformError, "The credential is missing, invalid, expired or revoked.");
            operation.Responses["403"] = Error(
                document, PlatformDocument.PlatformError, $"The credential lacks the scope: one of {string.Join(", ", scopes)} is required.");
            operation.Responses["429"] = Error(
                document, PlatformDocument.PlatformError, "The paying account's rate limit is spent.", PlatformDocument.RetryAfter,
                PlatformDocument.RateLimitLimit, PlatformDocument.RateLimitRemaining, PlatformDocument.RateLimitReset);
            operation.Responses["503"] = Error(
                document, PlatformDocument.PlatformError, "The credential cannot be checked right now; retry.", PlatformDocument.RetryAfter);
        }
        else
        {
            operation.Security.Add(new OpenApiSecurityRequirement { [new(PlatformDocument.AdminOAuthScheme, document)] = [PlatformScopes.Admin] });
            operation.Responses["401"] = Error(document, PlatformDocument.OAuthError, "No valid admin credential.");
            operation.Responses["403"] = Error(document, PlatformDocument.OAuthError, "The credential is not an admin's (scope admin).");
            operation.Responses.TryAdd("400", Error(document, PlatformDocument.OAuthError, "The request cannot be read."));
        }

        return Task.CompletedTask;
    }

    private static OpenApiResponse Error(OpenApiDocument document, string schema, string description, params string[] headers) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType>
        {
            ["application/json"] = new() { Schema = new OpenApiSchemaReference(schema, document) },
        },
        Headers = headers.Length == 0
            ? null
            : headers.ToDictionary(header => header, header => (IOpenApiHeader)new OpenApiHeaderReference(header, document)),
    };
}
