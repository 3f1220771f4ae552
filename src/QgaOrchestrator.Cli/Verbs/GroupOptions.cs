using System.CommandLine;

namespace QgaOrchestrator.Cli.Verbs;

/// <summary>--vms a,b | --selector k=v[,k=v] --deadline and --wait, shared by the saga verbs.</summary>
internal static class GroupOptions
{
    public static Option<string?> Vms() => new("--vms") { Description = "comma-separated VM ids" };

    public static Option<string?> Selector() => new("--selector") { Description = "labels the VMs must carry: k=v[,k=v]" };

    public static Option<string?> Deadline() => new("--deadline") { Description = "freeze deadline (e.g. 30s, 500ms, 2m); the server default when left out" };

    public static Option<bool> Wait() => new("--wait") { Description = "follow the saga to its end with live progress; exit 0 only if it completed" };

    /// <summary>The group part of a saga request body ("vms" or "selector"); the server checks the rest.</summary>
    public static Dictionary<string, object?> Body(ParseResult parse, Option<string?> vms, Option<string?> selector)
    {
        var body = new Dictionary<string, object?>();
        var v = parse.GetValue(vms);
        var s = parse.GetValue(selector);
        if ((v is null) == (s is null)) throw new UsageException("give either --vms a,b or --selector k=v");
        if (v is not null) body["vms"] = v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (s is not null)
        {
            var labels = new Dictionary<string, string>();
            foreach (var pair in s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0) throw new UsageException($"--selector: '{pair}' is not k=v");
                labels[pair[..eq]] = pair[(eq + 1)..];
            }
            body["selector"] = labels;
        }
        return body;
    }
}
