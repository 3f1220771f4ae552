using System.Text.Json;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Core.Fleet;

/// <summary>A fleet file that cannot be used; the message names the file and the entry.</summary>
public sealed class FleetConfigException(string message) : Exception(message);

/// <summary>
/// Reads and validates <c>config/fleet.json</c>:
/// <code>
/// { "vms": [ { "id": "web-01", "qgaSocket": "/run/qga/web-01.sock", "qmpSocket": "/run/qmp/web-01.sock",
///              "disks": ["disk0"], "labels": { "tier": "web" } } ] }
/// </code>
/// Ids are unique, made of letters, digits, '.', '_' and '-' (they name actors; ':' is left to discovered VMs), and socket paths are
/// not empty. Any problem is a <see cref="FleetConfigException"/> naming the entry.
/// </summary>
public static class FleetConfig
{
    public static IReadOnlyList<VmConfig> Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FleetConfigException($"{path}: cannot read the fleet file: {e.Message}");
        }
        return Parse(text, path);
    }

    public static IReadOnlyList<VmConfig> Parse(string json, string source = "fleet.json")
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new FleetConfigException($"{source}: not valid JSON: {e.Message}");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !TryGet(root, "vms", out var vms) || vms.ValueKind != JsonValueKind.Array)
                throw new FleetConfigException($"{source}: expected an object with a \"vms\" array");
            var result = new List<VmConfig>();
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            int index = 0;
            foreach (var item in vms.EnumerateArray())
            {
                var where = $"{source}: vms[{index}]";
                if (item.ValueKind != JsonValueKind.Object) throw new FleetConfigException($"{where}: expected an object");
                var id = String(item, "id", where);
                if (string.IsNullOrWhiteSpace(id)) throw new FleetConfigException($"{where}: \"id\" is missing or empty");
                where = $"{source}: vms[{index}] (id '{id}')";
                var config = new VmConfig
                {
                    Id = id,
                    QgaSocket = String(item, "qgaSocket", where) ?? "",
                    QmpSocket = String(item, "qmpSocket", where),
                    Disks = Strings(item, "disks", where),
                    Labels = Labels(item, where),
                };
                if (Validate(config) is { } problem) throw new FleetConfigException($"{where}: {problem}");
                if (id.Contains(':', StringComparison.Ordinal))
                    throw new FleetConfigException($"{where}: ':' is reserved for discovered VMs (libvirt:NAME, pve:VMID); use letters, digits, '.', '_' and '-'");
                if (seen.TryGetValue(id, out var first))
                    throw new FleetConfigException($"{where}: duplicate id (first used by vms[{first}])");
                seen[id] = index;
                result.Add(config);
                index++;
            }
            return result;
        }
    }

    /// <summary>Null when <paramref name="config"/> is usable, else why not.</summary>
    public static string? Validate(VmConfig config)
    {
        if (string.IsNullOrEmpty(config.Id)) return "id is empty";
        // ':' only separates a discovered VM's source from its name (fleet.json refuses it); all are valid in actor names.
        foreach (var c in config.Id)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':'))
                return $"id '{config.Id}' may hold only letters, digits, '.', '_' and '-'";
        if (string.IsNullOrWhiteSpace(config.QgaSocket)) return "\"qgaSocket\" is missing or empty";
        if (config.QmpSocket is { } q && string.IsNullOrWhiteSpace(q)) return "\"qmpSocket\" is empty (omit it when the VM has no QMP socket)";
        foreach (var d in config.Disks)
            if (string.IsNullOrWhiteSpace(d)) return "\"disks\" holds an empty node name";
        return null;
    }

    private static bool TryGet(JsonElement obj, string name, out JsonElement value)
    {
        foreach (var p in obj.EnumerateObject())
        {
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                value = p.Value;
                return true;
            }
        }
        value = default;
        return false;
    }

    private static string? String(JsonElement obj, string name, string where)
    {
        if (!TryGet(obj, name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String) throw new FleetConfigException($"{where}: \"{name}\" must be a string");
        return v.GetString();
    }

    private static IReadOnlyList<string> Strings(JsonElement obj, string name, string where)
    {
        if (!TryGet(obj, name, out var v) || v.ValueKind == JsonValueKind.Null) return [];
        if (v.ValueKind != JsonValueKind.Array) throw new FleetConfigException($"{where}: \"{name}\" must be an array of strings");
        return v.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()!
            : throw new FleetConfigException($"{where}: \"{name}\" must be an array of strings")).ToList();
    }

    private static IReadOnlyDictionary<string, string> Labels(JsonElement obj, string where)
    {
        if (!TryGet(obj, "labels", out var v) || v.ValueKind == JsonValueKind.Null) return new Dictionary<string, string>();
        if (v.ValueKind != JsonValueKind.Object) throw new FleetConfigException($"{where}: \"labels\" must be an object of strings");
        return v.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()!
            : throw new FleetConfigException($"{where}: label '{p.Name}' must be a string"), StringComparer.Ordinal);
    }
}
