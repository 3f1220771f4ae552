using System.Text.Json;
using QgaOrchestrator.Protocol.Framing;

namespace QgaOrchestrator.Protocol;

/// <summary>
/// A reply from a guest agent: <c>{"return": X}</c> or <c>{"error": {...}}</c>, with the request's
/// <c>id</c> when it had one. <see cref="Delimited"/>: the line came right after a 0xFF sentinel.
/// </summary>
public sealed record QgaReply(JsonElement? Return, QgaError? Error, JsonElement? Id, bool Delimited)
{
    public bool IsError => Error is not null;

    /// <summary>The id as an integer, when it is one (the ids this project sends always are).</summary>
    public long? IntegerId => Id is { ValueKind: JsonValueKind.Number } id && id.TryGetInt64(out var v) ? v : null;

    /// <summary>Decodes <see cref="Return"/> as the command's result type; a mismatch is a typed failure.</summary>
    public bool TryGetResult<TArgs, TResult>(QgaCommand<TArgs, TResult> command, out TResult? result, out string? problem)
    {
        result = default;
        problem = null;
        if (Return is not { } ret)
        {
            problem = "reply has no return value";
            return false;
        }
        try
        {
            result = ret.Deserialize(command.ResultType);
            if (result is null)
            {
                problem = "reply returned null";
                return false;
            }
            return true;
        }
        catch (JsonException e)
        {
            problem = $"reply does not fit {command.Name}'s result: {e.Message}";
            return false;
        }
    }

    /// <summary>Parses one framed line. Never throws: anything off is a <see cref="FramedLine.Rejected"/>.</summary>
    public static QgaReplyParse Parse(FramedLine.Line line, FramingLimits? limits = null)
    {
        var limit = limits ?? FramingLimits.Default;
        JsonElement root;
        try
        {
            var reader = new Utf8JsonReader(line.Json.Span, new JsonReaderOptions { MaxDepth = limit.MaxDepth });
            root = JsonElement.ParseValue(ref reader);
        }
        catch (JsonException e) when (e.Message.Contains("depth", StringComparison.OrdinalIgnoreCase))
        {
            return new FramedLine.Rejected(FramingErrorKind.TooDeep, $"nesting deeper than {limit.MaxDepth}");
        }
        catch (JsonException e)
        {
            return new FramedLine.Rejected(FramingErrorKind.InvalidJson, e.Message);
        }
        catch (ArgumentException e)
        {
            return new FramedLine.Rejected(FramingErrorKind.InvalidJson, e.Message);
        }
        return FromElement(root, line.Delimited);
    }

    private static QgaReplyParse FromElement(JsonElement root, bool delimited)
    {
        if (root.ValueKind != JsonValueKind.Object)
            return new FramedLine.Rejected(FramingErrorKind.UnexpectedMessage, $"reply is a JSON {root.ValueKind}, not an object");
        JsonElement? id = root.TryGetProperty("id", out var idValue) ? idValue : null;
        if (root.TryGetProperty("return", out var ret))
            return new QgaReply(ret, null, id, delimited);
        if (root.TryGetProperty("error", out var err))
        {
            if (err.ValueKind == JsonValueKind.Object
                && err.TryGetProperty("class", out var cls) && cls.ValueKind == JsonValueKind.String
                && err.TryGetProperty("desc", out var desc) && desc.ValueKind == JsonValueKind.String)
                return new QgaReply(null, new QgaError(cls.GetString()!, desc.GetString()!), id, delimited);
            return new FramedLine.Rejected(FramingErrorKind.UnexpectedMessage, "error reply without class and desc strings");
        }
        return new FramedLine.Rejected(FramingErrorKind.UnexpectedMessage, "reply has neither 'return' nor 'error'");
    }
}

/// <summary>Either a reply or the reason the line was not one.</summary>
public readonly struct QgaReplyParse
{
    private QgaReplyParse(QgaReply? reply, FramedLine.Rejected? rejected) => (Reply, Rejected) = (reply, rejected);

    public QgaReply? Reply { get; }

    public FramedLine.Rejected? Rejected { get; }

    public static implicit operator QgaReplyParse(QgaReply reply) => new(reply, null);

    public static implicit operator QgaReplyParse(FramedLine.Rejected rejected) => new(null, rejected);
}
