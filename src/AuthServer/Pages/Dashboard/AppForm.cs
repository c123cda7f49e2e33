using AuthServer.Clients;
using AuthServer.Core;

namespace AuthServer.Pages.Dashboard;

/// <summary>The fields of an app on the dashboard, as the registration and the edit forms post them.</summary>
internal sealed class AppForm
{
    public string Name { get; set; } = "";

    /// <summary>One per line.</summary>
    public string RedirectUris { get; set; } = "";

    public bool IsPublic { get; set; }

    /// <summary>Empty when bound from a post that checked none; a new form starts with the suggested ones.</summary>
    public List<string> Scopes { get; set; } = [];

    /// <summary>A blank registration form, least privilege preselected.</summary>
    public static AppForm New() => new() { Scopes = [.. DeveloperApps.SuggestedScopes] };

    public string? PolicyUri { get; set; }

    public string? TosUri { get; set; }

    public string? LogoUri { get; set; }

    public static AppForm From(DeveloperApp app) => new()
    {
        Name = app.Name,
        RedirectUris = string.Join('\n', app.RedirectUris),
        IsPublic = app.IsPublic,
        Scopes = [.. app.Scopes],
        PolicyUri = app.Links.PolicyUri?.AbsoluteUri,
        TosUri = app.Links.TosUri?.AbsoluteUri,
        LogoUri = app.Links.LogoUri?.AbsoluteUri,
    };

    /// <summary>The input, or what is wrong with the form (a line that is not a URL).</summary>
    public (DeveloperAppInput? Input, string? Error) Read()
    {
        var uris = new List<Uri>();
        foreach (var line in RedirectUris.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(line, UriKind.Absolute, out var uri))
            {
                return (null, $"'{line}' is not an absolute URI.");
            }

            uris.Add(uri);
        }

        var (links, notAUrl) = AppLinks.Parse(PolicyUri, TosUri, LogoUri);
        if (links is null)
        {
            return (null, $"'{notAUrl}' is not an absolute URL.");
        }

        return (new DeveloperAppInput(Name, uris, IsPublic, Scopes, links), null);
    }
}
