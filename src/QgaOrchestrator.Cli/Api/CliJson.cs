using System.Text.Json;
using System.Text.Json.Serialization;

namespace QgaOrchestrator.Cli.Api;

internal static class CliJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static readonly JsonSerializerOptions Indented = new(Options) { WriteIndented = true };

    public static string? Str(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static bool Bool(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    public static IEnumerable<JsonElement> Items(this JsonElement e, string? name = null)
    {
        var arr = name is null ? e : e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v : default;
        return arr.ValueKind == JsonValueKind.Array ? arr.EnumerateArray() : [];
    }
}
