using Akka.Actor;
using Microsoft.AspNetCore.Http;

namespace QgaOrchestrator.Host.Api;

/// <summary>Thrown by a handler to answer with a problem; <see cref="ApiProblemMiddleware"/> writes it.</summary>
public sealed class ApiProblemException(IResult problem, string message) : Exception(message)
{
    public IResult Problem { get; } = problem;

    public static ApiProblemException Invalid(string field, string message) => new(ApiProblems.Invalid(field, message), $"{field}: {message}");

    public static ApiProblemException NotFound(string field, string message) => new(ApiProblems.NotFound(field, message), message);

    public static ApiProblemException Conflict(string message) => new(ApiProblems.Conflict(message), message);
}

/// <summary>Turns <see cref="ApiProblemException"/> and actor ask timeouts into problem+json answers.</summary>
public sealed class ApiProblemMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (ApiProblemException e) when (!context.Response.HasStarted)
        {
            await e.Problem.ExecuteAsync(context);
        }
        catch (AskTimeoutException e) when (!context.Response.HasStarted)
        {
            await ApiProblems.Timeout("the orchestrator did not answer in time: " + e.Message).ExecuteAsync(context);
        }
    }
}
