using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Mvc.ActionConstraints;

namespace AuthServer.OAuth;

/// <summary>
/// Selects an action only when a POSTed form carries the named field. The consent form posts back to the
/// authorization endpoint, and the button pressed (accept or deny) chooses the action.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class FormValueRequiredAttribute(string name) : ActionMethodSelectorAttribute
{
    public string Name { get; } = name;

    public override bool IsValidForRequest(RouteContext routeContext, ActionDescriptor action)
    {
        var request = routeContext.HttpContext.Request;
        return HttpMethods.IsPost(request.Method)
            && request.HasFormContentType
            && !string.IsNullOrEmpty(request.Form[Name]);
    }
}
