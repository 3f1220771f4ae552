using Akka.Actor;
using QgaOrchestrator.Core.Snapshots.Internal;

namespace QgaOrchestrator.Core.Snapshots;

/// <summary>
/// Runs a configured command (e.g. <c>zfs snapshot -r tank/vms@{name}</c>, <c>lvcreate -s -n {vm}-{name} ...</c>,
/// <c>rbd snap create pool/{vm}@{name}</c>) once per VM or once for the group. The template is split
/// into argv FIRST and placeholders are substituted inside each argument, so a value can never add an
/// argument or reach a shell. Non-zero exit or timeout = failure.
/// </summary>
public sealed record CommandSnapshotProvider(string Template, bool PerVm, TimeSpan Timeout) : ISnapshotProvider
{
    public bool GroupWide => !PerVm;

    /// <summary>Whitespace-separated words; single or double quotes group a word (no escapes, no shell).</summary>
    public static IReadOnlyList<string> SplitArgv(string template)
    {
        var args = new List<string>();
        var cur = new System.Text.StringBuilder();
        char? quote = null;
        var inWord = false;
        foreach (var c in template)
        {
            if (quote is { } q) { if (c == q) quote = null; else cur.Append(c); continue; }
            if (c is '"' or '\'') { quote = c; inWord = true; continue; }
            if (char.IsWhiteSpace(c))
            {
                if (inWord) { args.Add(cur.ToString()); cur.Clear(); inWord = false; }
                continue;
            }
            cur.Append(c);
            inWord = true;
        }
        if (quote is not null) throw new FormatException("unterminated quote in snapshot command template");
        if (inWord) args.Add(cur.ToString());
        if (args.Count == 0) throw new FormatException("empty snapshot command template");
        return args;
    }

    public IReadOnlyList<string> Argv(string sagaId, string name, string? vm) => SplitArgv(Template)
        .Select(a => a.Replace("{name}", name, StringComparison.Ordinal)
                      .Replace("{saga}", sagaId, StringComparison.Ordinal)
                      .Replace("{vm}", vm ?? "", StringComparison.Ordinal))
        .ToList();

    public Props Props(SnapshotRequest request, IActorRef fleet, IActorRef replyTo) =>
        Akka.Actor.Props.Create(() => new CommandSnapshotActor(this, request, replyTo));
}
