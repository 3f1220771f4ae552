using System.Text.Json;
using System.Threading.Channels;
using Akka.Actor;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using QgaOrchestrator.Core.Sagas;
using QgaOrchestrator.Host.Api.Internal;

namespace QgaOrchestrator.Host.Api;

/// <summary>
/// <c>GET /sagas/{id}/events</c> (text/event-stream): <c>event: state</c> with the saga now, then
/// <c>event: progress</c> per journaled saga event, then <c>event: end</c> with the final saga, and the
/// stream closes. A comment line every 15 s keeps proxies from closing an idle stream.
/// </summary>
public static class SagaEventStream
{
    public static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    /// <summary>Trims and power sagas publish no progress events; their stream polls the saga at this pace.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    public static async Task StreamAsync(string id, HttpContext context, Orchestrator o, IOptions<JsonOptions> json, CancellationToken ct)
    {
        var channel = Channel.CreateUnbounded<FreezeSnapshotThaw.Progressed>(new UnboundedChannelOptions { SingleReader = true });
        // Subscribe before reading the state, so no event falls between the two.
        var relay = o.System.ActorOf(SagaProgressRelayActor.Props(id, channel.Writer));
        try
        {
            var view = await SagaEndpoints.ViewAsync(o, id, ct); // 404 problem before the stream starts
            var response = context.Response;
            response.Headers.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache";
            response.Headers["X-Accel-Buffering"] = "no";
            var options = json.Value.SerializerOptions;
            await WriteAsync(response, "state", JsonSerializer.Serialize(view, options), ct);
            if (view.Ended)
            {
                await WriteAsync(response, "end", JsonSerializer.Serialize(view, options), ct);
                return;
            }
            if (view.Kind == SagaKinds.Fstrim || SagaKinds.IsPower(view.Kind))
            {
                await PollAsync(id, view.Kind == SagaKinds.Fstrim ? "TrimProgressed" : "PowerProgressed", response, o, options, ct);
                return;
            }
            while (true)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
                idle.CancelAfter(KeepAlive);
                FreezeSnapshotThaw.Progressed p;
                try
                {
                    if (!await channel.Reader.WaitToReadAsync(idle.Token)) return;
                    p = await channel.Reader.ReadAsync(idle.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    await response.WriteAsync(": keep-alive\n\n", ct);
                    await response.Body.FlushAsync(ct);
                    continue;
                }
                var saga = SagaView.From(p.State);
                var vmId = p.Event.GetType().GetProperty("VmId")?.GetValue(p.Event) as string;
                await WriteAsync(response, "progress", JsonSerializer.Serialize(new SagaProgressView(p.Event.GetType().Name, vmId, p.Event.At, saga), options), ct);
                if (p.Event is SagaEnded)
                {
                    await WriteAsync(response, "end", JsonSerializer.Serialize(saga, options), ct);
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away.
        }
        finally
        {
            o.System.Stop(relay);
        }
    }

    private static async Task PollAsync(string id, string eventName, HttpResponse response, Orchestrator o, JsonSerializerOptions options, CancellationToken ct)
    {
        var last = "";
        while (true)
        {
            await Task.Delay(PollInterval, ct);
            var view = await SagaEndpoints.ViewAsync(o, id, ct);
            var text = JsonSerializer.Serialize(view, options);
            if (view.Ended)
            {
                await WriteAsync(response, "end", text, ct);
                return;
            }
            if (text != last) await WriteAsync(response, "progress", JsonSerializer.Serialize(new SagaProgressView(eventName, null, DateTimeOffset.UtcNow, view), options), ct);
            last = text;
        }
    }

    private static async Task WriteAsync(HttpResponse response, string name, string data, CancellationToken ct)
    {
        await response.WriteAsync($"event: {name}\ndata: {data}\n\n", ct);
        await response.Body.FlushAsync(ct);
    }
}
