using System.Text.Json;
using Microsoft.AspNetCore.Http;
using QgaOrchestrator.Core.Hosting;

namespace QgaOrchestrator.Host.Api;

/// <summary>
/// A request body read by hand so that every problem names its field: invalid JSON ("body"), an unknown
/// member, a wrong type. Each getter throws <see cref="ApiProblemException"/> (400).
/// </summary>
public sealed class JsonBody
{
    /// <summary>Bodies are small commands; a guest-file-write payload is the largest expected.</summary>
    public const int MaxBytes = 64 * 1024 * 1024;

    private readonly JsonElement _root;
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);

    private JsonBody(JsonElement root) => _root = root;

    public JsonElement Root => _root;

    public bool IsEmpty => _root.ValueKind == JsonValueKind.Undefined;

    /// <summary>Reads the whole body; an empty body is an empty object, anything but an object is a problem.</summary>
    public static async Task<JsonBody> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength > MaxBytes) throw ApiProblemException.Invalid("body", $"larger than {MaxBytes} bytes");
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, ct);
        if (buffer.Length == 0 || buffer.ToArray().All(b => b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t'))
            return new JsonBody(default);
        try
        {
            using var doc = JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw ApiProblemException.Invalid("body", $"expected a JSON object, got {Kind(doc.RootElement)}");
            return new JsonBody(doc.RootElement.Clone());
        }
        catch (JsonException e)
        {
            throw ApiProblemException.Invalid("body", "not valid JSON: " + e.Message);
        }
    }

    /// <summary>Refuses members no getter asked for (a typo must not silently become a default).</summary>
    public void RejectUnknownMembers()
    {
        if (IsEmpty) return;
        foreach (var p in _root.EnumerateObject())
            if (!_known.Contains(p.Name)) throw ApiProblemException.Invalid(p.Name, "unknown member");
    }

    public bool Has(string name) => Get(name) is not null;

    public string? String(string name)
    {
        if (Get(name) is not { } v) return null;
        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw Wrong(name, "a string", v);
    }

    public bool? Bool(string name)
    {
        if (Get(name) is not { } v) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Wrong(name, "a boolean", v),
        };
    }

    public long? Integer(string name, long min, long max)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var n)) throw Wrong(name, "an integer", v);
        if (n < min || n > max) throw ApiProblemException.Invalid(name, $"must be between {min} and {max}");
        return n;
    }

    /// <summary>A duration: "30s", "500ms", "2m" or a number of seconds.</summary>
    public TimeSpan? Duration(string name)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var seconds) && Math.Abs(seconds) < TimeSpan.MaxValue.TotalSeconds)
            return TimeSpan.FromSeconds(seconds);
        if (v.ValueKind == JsonValueKind.String && DurationText.TryParse(v.GetString(), out var t)) return t;
        throw ApiProblemException.Invalid(name, $"expected a duration such as \"30s\", \"500ms\" or a number of seconds, got {Show(v)}");
    }

    public IReadOnlyList<string>? StringList(string name)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Array) throw Wrong(name, "an array of strings", v);
        var list = new List<string>();
        int i = 0;
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(item.GetString()))
                throw Wrong($"{name}[{i}]", "a non-empty string", item);
            list.Add(item.GetString()!);
            i++;
        }
        return list;
    }

    public IReadOnlyDictionary<string, string>? StringMap(string name)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Object) throw Wrong(name, "an object of strings", v);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in v.EnumerateObject())
            map[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw Wrong($"{name}.{p.Name}", "a string", p.Value);
        return map;
    }

    public IReadOnlyDictionary<string, IReadOnlyList<string>>? StringListMap(string name)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Object) throw Wrong(name, "an object of string arrays", v);
        var map = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var p in v.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Array || p.Value.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
                throw Wrong($"{name}.{p.Name}", "an array of strings", p.Value);
            map[p.Name] = p.Value.EnumerateArray().Select(e => e.GetString()!).ToList();
        }
        return map;
    }

    private JsonElement? Get(string name)
    {
        _known.Add(name);
        if (IsEmpty || !_root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v;
    }

    private static ApiProblemException Wrong(string name, string expected, JsonElement got) =>
        ApiProblemException.Invalid(name, $"expected {expected}, got {Show(got)}");

    private static string Show(JsonElement v)
    {
        var raw = v.GetRawText();
        return raw.Length <= 40 ? $"{Kind(v)} {raw}" : Kind(v);
    }

    private static string Kind(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
