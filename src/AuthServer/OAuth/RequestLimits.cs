using AuthServer.Core;
using Microsoft.Extensions.Options;

namespace AuthServer.OAuth;

/// <summary>Bounds on the size of OAuth requests.</summary>
public sealed class RequestLimitsOptions
{
    public const string SectionName = "OAuth:RequestLimits";

    /// <summary>The longest accepted value of any one parameter (state, nonce, redirect_uri, ...).</summary>
    [System.ComponentModel.DataAnnotations.Range(256, 65536)]
    public int MaxParameterLength { get; set; } = 8192;

    /// <summary>The largest accepted query string or form body, in bytes.</summary>
    [System.ComponentModel.DataAnnotations.Range(4096, 1048576)]
    public int MaxRequestLength { get; set; } = 32768;
}

/// <summary>
/// Rejects oversized OAuth requests with <c>invalid_request</c> before OpenIddict parses them. A request this large is
/// never legitimate, and refusing it early keeps a flood of them from costing database work or memory.
/// </summary>
internal static class RequestLimits
{
    public static IServiceCollection AddRequestLimits(this IServiceCollection services)
    {
        services.AddOptions<RequestLimitsOptions>()
            .BindConfiguration(RequestLimitsOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        return services;
    }

    public static IApplicationBuilder UseOAuthRequestLimits(this IApplicationBuilder app)
    {
        var limits = app.ApplicationServices.GetRequiredService<IOptions<RequestLimitsOptions>>().Value;
        return app.UseWhen(
            context => Routes.IsUnder(context.Request.Path, Routes.OAuth),
            branch => branch.Use(async (context, next) =>
            {
                if (await IsOversizedAsync(context.Request, limits))
                {
                    await OAuthErrors.WriteAsync(context, StatusCodes.Status400BadRequest, OAuthErrors.InvalidRequest,
                        "The request or one of its parameters is too large.");
                    return;
                }

                await next(context);
            }));
    }

    private static async Task<bool> IsOversizedAsync(HttpRequest request, RequestLimitsOptions limits)
    {
        if (request.QueryString.Value is { } query)
        {
            if (query.Length > limits.MaxRequestLength
                || request.Query.Any(parameter => parameter.Value.Any(value => value?.Length > limits.MaxParameterLength)))
            {
                return true;
            }
        }

        if (!request.HasFormContentType)
        {
            return false;
        }

        if (request.ContentLength > limits.MaxRequestLength)
        {
            return true;
        }

        // The body is buffered by the form reader (and read again by OpenIddict), bounded by the limits below.
        try
        {
            await request.ReadFormAsync(new Microsoft.AspNetCore.Http.Features.FormOptions
            {
                BufferBody = true,
                ValueLengthLimit = limits.MaxParameterLength,
                KeyLengthLimit = 256,
                ValueCountLimit = 64,
                MultipartBodyLengthLimit = limits.MaxRequestLength,
            }, request.HttpContext.RequestAborted);
            return false;
        }
        catch (InvalidDataException)
        {
            return true;
        }
    }
}
