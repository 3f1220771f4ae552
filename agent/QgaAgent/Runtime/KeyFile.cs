using System.Text;

namespace QgaAgent.Runtime;

/// <summary>
/// The subset of GLib's GKeyFile that qemu-ga's files use: <c>[group]</c> headers, <c>key=value</c>
/// lines, <c>#</c> comments, string lists separated by ';'. Used for the config (<c>[general]</c>)
/// and the persistent state (<c>[global] fd_counter</c>).
/// </summary>
internal sealed class KeyFile
{
    private readonly List<(string Group, List<KeyValuePair<string, string>> Entries)> _groups = [];

    public static KeyFile Parse(string text)
    {
        var file = new KeyFile();
        List<KeyValuePair<string, string>>? current = null;
        int lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            var line = raw.TrimEnd('\r').Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            if (line[0] == '[')
            {
                if (line[^1] != ']') throw new FormatException($"line {lineNo}: invalid group header '{line}'");
                var name = line[1..^1];
                current = file.Group(name, create: true);
                continue;
            }
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new FormatException($"line {lineNo}: '{line}' is not a key=value pair");
            if (current is null) throw new FormatException($"line {lineNo}: key file does not start with a group");
            var key = line[..eq].Trim();
            var value = Unescape(line[(eq + 1)..].TrimStart());
            current.RemoveAll(e => e.Key == key);
            current.Add(new(key, value));
        }
        return file;
    }

    public string? Get(string group, string key) =>
        Group(group, create: false)?.LastOrDefault(e => e.Key == key).Value;

    public bool Has(string group, string key) => Group(group, create: false)?.Any(e => e.Key == key) ?? false;

    public void Set(string group, string key, string value)
    {
        var g = Group(group, create: true)!;
        int i = g.FindIndex(e => e.Key == key);
        if (i >= 0) g[i] = new(key, value);
        else g.Add(new(key, value));
    }

    /// <summary>GLib booleans: true/false (and 1/0, which GLib also accepts).</summary>
    public bool? GetBool(string group, string key) => Get(group, key) switch
    {
        null => null,
        "true" or "1" => true,
        "false" or "0" => false,
        var v => throw new FormatException($"key '{key}' has value '{v}', which is not a boolean"),
    };

    public IReadOnlyList<string>? GetList(string group, string key) =>
        Get(group, key)?.Split(';', StringSplitOptions.RemoveEmptyEntries);

    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var (group, entries) in _groups)
        {
            if (sb.Length > 0) sb.Append('\n');
            sb.Append('[').Append(group).Append("]\n");
            foreach (var e in entries) sb.Append(e.Key).Append('=').Append(Escape(e.Value)).Append('\n');
        }
        return sb.ToString();
    }

    private List<KeyValuePair<string, string>>? Group(string name, bool create)
    {
        foreach (var (g, entries) in _groups)
            if (g == name) return entries;
        if (!create) return null;
        var list = new List<KeyValuePair<string, string>>();
        _groups.Add((name, list));
        return list;
    }

    private static string Unescape(string v)
    {
        if (!v.Contains('\\', StringComparison.Ordinal)) return v;
        var sb = new StringBuilder(v.Length);
        for (int i = 0; i < v.Length; i++)
        {
            if (v[i] != '\\' || i + 1 == v.Length) { sb.Append(v[i]); continue; }
            sb.Append(v[++i] switch { 's' => ' ', 'n' => '\n', 't' => '\t', 'r' => '\r', var c => c });
        }
        return sb.ToString();
    }

    private static string Escape(string v)
    {
        var sb = new StringBuilder(v.Length);
        for (int i = 0; i < v.Length; i++)
        {
            switch (v[i])
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\t': sb.Append("\\t"); break;
                case '\r': sb.Append("\\r"); break;
                case ' ' when i == 0: sb.Append("\\s"); break;
                default: sb.Append(v[i]); break;
            }
        }
        return sb.ToString();
    }
}
