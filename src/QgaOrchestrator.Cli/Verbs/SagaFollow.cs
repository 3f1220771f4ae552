using System.Text.Json;
using QgaOrchestrator.Cli.Api;
using QgaOrchestrator.Cli.Output;

namespace QgaOrchestrator.Cli.Verbs;

/// <summary>Follows a saga's event stream to its end, showing progress; reconnects if the stream drops early.</summary>
internal static class SagaFollow
{
    public static async Task<JsonElement> UntilEndAsync(ApiClient api, string id, SagaProgress progress, CancellationToken ct,
        Func<JsonElement, Task>? onSaga = null)
    {
        while (true)
        {
            await foreach (var (name, data) in api.EventsAsync($"/sagas/{Uri.EscapeDataString(id)}/events", ct))
            {
                progress.Show(name, data);
                var saga = data.TryGetProperty("saga", out var s) ? s : data;
                if (onSaga is not null) await onSaga(saga);
                if (name == "end") return data;
            }
            // The stream closed without "end" (server restart, proxy): the saga runs on; look again.
            var now = await api.GetAsync($"/sagas/{Uri.EscapeDataString(id)}", ct);
            if (now.Str("outcome") is not null) return now;
        }
    }

    /// <summary>0 when the saga completed, else <see cref="ExitCodes.SagaFailed"/>.</summary>
    public static int ExitCodeOf(JsonElement saga) => saga.Str("outcome") == "completed" ? ExitCodes.Ok : ExitCodes.SagaFailed;
}
