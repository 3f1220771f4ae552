using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Data.Sqlite;
using QgaOrchestrator.Core.Persistence;
using QgaOrchestrator.Core.Sagas;

namespace QgaOrchestrator.Host.Api;

/// <summary><c>/healthz</c>: the process answers. <c>/readyz</c>: the actor system runs and the saga journal answers.</summary>
public static class HealthEndpoints
{
    public static readonly string[] OpenPaths = ["/healthz", "/readyz", "/openapi/v1.json"];

    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(3);

    public sealed record Health(string Status, IReadOnlyDictionary<string, string>? Checks = null);

    public static void MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Ok(new Health("up"))).WithTags("health").WithSummary("The process is up (no auth)");
        app.MapGet("/readyz", ReadyAsync).WithTags("health").WithSummary("Actors up and the saga journal reachable (no auth)")
            .Produces<Health>().ProducesProblem(503);
    }

    private static async Task<IResult> ReadyAsync(Orchestrator o, CancellationToken ct)
    {
        var checks = new Dictionary<string, string>();
        if (o.System.WhenTerminated.IsCompleted) return Unready("actor system terminated");
        try
        {
            // The saga manager is persistent: it answers only after recovering from the journal.
            await o.AskAsync(o.SagasAsync(ct), r => new SagaManager.ListSagas(r), ct, ReadyTimeout);
            checks["sagas"] = "recovered";
        }
        catch (Exception e) when (e is Akka.Actor.AskTimeoutException or OperationCanceledException)
        {
            return Unready("the saga manager did not answer (journal recovery pending or failed)");
        }
        if (o.Options.JournalProvider == "sqlite")
        {
            try
            {
                await using var connection = new SqliteConnection(SagaPersistence.SqliteConnectionString(o.Options.StateDir));
                await connection.OpenAsync(ct);
                await using var command = connection.CreateCommand();
                command.CommandText = "SELECT 1";
                await command.ExecuteScalarAsync(ct);
                checks["journal"] = "reachable";
            }
            catch (SqliteException e)
            {
                return Unready("the SQLite journal is not reachable: " + e.Message);
            }
        }
        return Results.Ok(new Health("ready", checks));
    }

    private static IResult Unready(string detail) => ApiProblems.Create(StatusCodes.Status503ServiceUnavailable, "not-ready", "Not ready", detail);
}
