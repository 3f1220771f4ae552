using Microsoft.AspNetCore.Http;

namespace QgaOrchestrator.Host.Api;

/// <summary>Every path but the health and OpenAPI documents needs <c>Authorization: Bearer TOKEN</c>; else 401 problem.</summary>
public sealed class BearerTokenMiddleware(RequestDelegate next, ApiToken token)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        if (HealthEndpoints.OpenPaths.Contains(path, StringComparer.Ordinal) || token.Accepts(context.Request))
        {
            await next(context);
            return;
        }
        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"qgaorchd\"";
        await ApiProblems.WriteAsync(context, StatusCodes.Status401Unauthorized, "unauthorized", "Authentication required",
            "send Authorization: Bearer TOKEN with the token from the API token file (see qgaorch --token-file)");
    }
}
