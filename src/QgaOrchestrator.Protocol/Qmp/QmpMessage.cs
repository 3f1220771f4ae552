using System.Text.Json;
using QgaOrchestrator.Protocol.Framing;

namespace QgaOrchestrator.Protocol.Qmp;

/// <summary>A message from QEMU's monitor: the greeting, a reply, or an asynchronous event.</summary>
public abstract record QmpMessage
{
    /// <summary><c>{"QMP": {"version": ..., "capabilities": [...]}}</c>, sent once on connect.</summary>
    public sealed record Greeting(JsonElement Qmp) : QmpMessage;

    public sealed record Return(JsonElement Value, JsonElement? Id) : QmpMessage;

    public sealed record Error(QgaError Value, JsonElement? Id) : QmpMessage;

    /// <summary>e.g. SHUTDOWN, SUSPEND, RESUME, WAKEUP, RESET, STOP.</summary>
    public sealed record Event(string Name, JsonElement? Data, DateTimeOffset? Timestamp) : QmpMessage;

    /// <summary>Parses one framed line; never throws.</summary>
    public static (QmpMessage? Message, FramedLine.Rejected? Rejected) Parse(FramedLine.Line line, FramingLimits? limits = null)
    {
        var limit = limits ?? FramingLimits.Default;
        JsonElement root;
        try
        {
            var reader = new Utf8JsonReader(line.Json.Span, new JsonReaderOptions { MaxDepth = limit.MaxDepth });
            root = JsonElement.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            return (null, new FramedLine.Rejected(FramingErrorKind.InvalidJson, e.Message));
        }
        if (root.ValueKind != JsonValueKind.Object)
            return (null, new FramedLine.Rejected(FramingErrorKind.UnexpectedMessage, "QMP message is not an object"));
        JsonElement? id = root.TryGetProperty("id", out var idValue) ? idValue : null;
        if (root.TryGetProperty("QMP", out var qmp)) return (new Greeting(qmp), null);
        if (root.TryGetProperty("return", out var ret)) return (new Return(ret, id), null);
        if (root.TryGetProperty("error", out var err)
            && err.ValueKind == JsonValueKind.Object
            && err.TryGetProperty("class", out var cls) && cls.ValueKind == JsonValueKind.String
            && err.TryGetProperty("desc", out var desc) && desc.ValueKind == JsonValueKind.String)
            return (new Error(new QgaError(cls.GetString()!, desc.GetString()!), id), null);
        if (root.TryGetProperty("event", out var ev) && ev.ValueKind == JsonValueKind.String)
        {
            JsonElement? data = root.TryGetProperty("data", out var d) ? d : null;
            DateTimeOffset? when = null;
            if (root.TryGetProperty("timestamp", out var ts)
                && ts.TryGetProperty("seconds", out var sec) && sec.TryGetInt64(out var s)
                && ts.TryGetProperty("microseconds", out var usec) && usec.TryGetInt64(out var us))
                when = DateTimeOffset.FromUnixTimeSeconds(s).AddTicks(us * 10);
            return (new Event(ev.GetString()!, data, when), null);
        }
        return (null, new FramedLine.Rejected(FramingErrorKind.UnexpectedMessage, "QMP message is neither greeting, reply nor event"));
    }
}
