using Microsoft.Extensions.Options;

namespace AuthServer.Core;

/// <summary>Validates an options class with a function that returns what is wrong (naming the key), or nothing.</summary>
internal sealed class DescribedValidation<T>(Func<T, string?> validate) : IValidateOptions<T>
    where T : class
{
    public ValidateOptionsResult Validate(string? name, T options) =>
        validate(options) is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;
}
