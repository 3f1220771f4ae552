using Microsoft.AspNetCore.Http;

namespace QgaOrchestrator.Host.Api;

/// <summary>
/// RFC 9457 problem+json answers: <c>type</c>, <c>title</c>, <c>status</c>, <c>detail</c>, and for bad
/// input an <c>errors</c> object naming each field (<c>{"deadline": ["..."]}</c>).
/// </summary>
public static class ApiProblems
{
    public const string TypeBase = "urn:qgaorch:problem:";

    public static IResult Invalid(string field, string message) =>
        Create(StatusCodes.Status400BadRequest, "invalid-request", "The request is not valid", $"{field}: {message}",
            new Dictionary<string, string[]> { [field] = [message] });

    public static IResult NotFound(string field, string message) =>
        Create(StatusCodes.Status404NotFound, "not-found", "No such resource", message, new Dictionary<string, string[]> { [field] = [message] });

    public static IResult Conflict(string detail) => Create(StatusCodes.Status409Conflict, "conflict", "The request conflicts with the current state", detail);

    public static IResult Timeout(string detail) => Create(StatusCodes.Status504GatewayTimeout, "timeout", "No answer in time", detail);

    public static IResult Unavailable(string detail) => Create(StatusCodes.Status503ServiceUnavailable, "unavailable", "The target is not reachable", detail);

    public static IResult GuestError(string errorClass, string desc) =>
        Results.Problem(new Microsoft.AspNetCore.Mvc.ProblemDetails
        {
            Type = TypeBase + "guest-error",
            Title = "The guest agent answered an error",
            Status = StatusCodes.Status502BadGateway,
            Detail = $"{errorClass}: {desc}",
            Extensions = { ["class"] = errorClass, ["desc"] = desc },
        });

    public static IResult Create(int status, string type, string title, string detail, IDictionary<string, string[]>? errors = null)
    {
        var problem = new Microsoft.AspNetCore.Mvc.ProblemDetails { Type = TypeBase + type, Title = title, Status = status, Detail = detail };
        if (errors is not null) problem.Extensions["errors"] = errors;
        return Results.Problem(problem);
    }

    /// <summary>Writes a problem directly (middleware, before routing).</summary>
    public static Task WriteAsync(HttpContext context, int status, string type, string title, string detail) =>
        Create(status, type, title, detail).ExecuteAsync(context);
}
