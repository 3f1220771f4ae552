using System.Text.Json;

namespace QgaOrchestrator.Protocol;

/// <summary>
/// The agent's view of one request, checked the way qemu's QMP dispatcher checks it: an object
/// with a string <c>execute</c>, optional object <c>arguments</c>, optional <c>id</c> of any type,
/// and nothing else (<c>exec-oob</c> is refused: qemu-ga has no out-of-band execution).
/// </summary>
public sealed record QgaRequestEnvelope(string Execute, JsonElement? Arguments, JsonElement? Id)
{
    /// <summary>Checks <paramref name="root"/>; on failure gives the error and the id to echo.</summary>
    public static bool TryParse(JsonElement root, out QgaRequestEnvelope? request, out QgaError? error, out JsonElement? id)
    {
        request = null;
        error = null;
        id = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = QgaError.Generic("QMP input must be a JSON object");
            return false;
        }
        if (root.TryGetProperty("id", out var idValue)) id = idValue;
        string? execute = null;
        JsonElement? arguments = null;
        foreach (var member in root.EnumerateObject())
        {
            switch (member.Name)
            {
                case "execute":
                    if (member.Value.ValueKind != JsonValueKind.String)
                    {
                        error = QgaError.Generic("QMP input member 'execute' must be a string");
                        return false;
                    }
                    execute = member.Value.GetString();
                    break;
                case "arguments":
                    if (member.Value.ValueKind != JsonValueKind.Object)
                    {
                        error = QgaError.Generic("QMP input member 'arguments' must be an object");
                        return false;
                    }
                    arguments = member.Value;
                    break;
                case "id":
                    break;
                default:
                    error = QgaError.Generic($"QMP input member '{member.Name}' is unexpected");
                    return false;
            }
        }
        if (execute is null)
        {
            error = QgaError.Generic("QMP input lacks member 'execute'");
            return false;
        }
        request = new QgaRequestEnvelope(execute, arguments, id);
        return true;
    }
}
