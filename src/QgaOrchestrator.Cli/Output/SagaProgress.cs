using System.Globalization;
using System.Text;
using System.Text.Json;
using QgaOrchestrator.Cli.Api;

namespace QgaOrchestrator.Cli.Output;

/// <summary>
/// Shows a saga as it runs. On a terminal: one line per VM and a progress bar, redrawn in place.
/// Piped: one plain line per change (a VM's step, the phase). With --json: every event as one JSON line.
/// </summary>
internal sealed class SagaProgress(CliContext cli)
{
    private const int BarWidth = 30;
    private readonly Dictionary<string, string> _lastSteps = new(StringComparer.Ordinal);
    private string? _lastPhase;
    private int _drawnLines;

    /// <summary>Progress of one VM, 0..1, by how far its step is along freeze → snapshot → thaw (power: check → sent → confirmed).</summary>
    public static double VmFraction(JsonElement vm)
    {
        var step = vm.Str("step") ?? "pending";
        var snapshot = vm.Bool("snapshotTaken");
        return step switch
        {
            "pending" => 0,
            "checking" => 0.1,
            "ready" or "already-frozen" => 0.2,
            "freezing" => 0.35,
            "sent" => 0.5,
            "resyncing" or "final-check" => 0.8,
            "frozen" => snapshot ? 0.8 : 0.5,
            "skipped" when vm.TryGetProperty("timeline", out _) => 1, // a power saga's skipped VM is done
            "skipped" => snapshot ? 0.8 : 0.5,
            "thawed" or "trimmed" or "succeeded" or "gone" or "failed" or "freeze-failed" or "unavailable" => 1,
            _ => 0,
        };
    }

    public void Show(string eventName, JsonElement data)
    {
        if (cli.AsJson)
        {
            cli.Out.WriteLine(JsonSerializer.Serialize(new { @event = eventName, data }, CliJson.Options));
            return;
        }
        var saga = data.TryGetProperty("saga", out var s) ? s : data;
        if (cli.Interactive) Redraw(saga);
        else PlainLines(data, saga);
    }

    // Each line carries the server's time of the change (the journaled event's, or the VM's own timestamp for
    // the state replayed on connect), so the lines agree with the freeze windows; VM lines come before the
    // phase they caused ("vm2 thawed" before "saga … ended").
    private void PlainLines(JsonElement data, JsonElement saga)
    {
        var at = Parse(data.Str("at"));
        var changes = new List<(DateTimeOffset? When, string Text)>();
        foreach (var vm in saga.Items("vms"))
        {
            var vmId = vm.Str("vmId")!;
            var step = vm.Str("step") ?? "";
            if (_lastSteps.TryGetValue(vmId, out var last) && last == step) continue;
            _lastSteps[vmId] = step;
            changes.Add((Parse(StepTime(vm, step)) ?? at ?? Parse(saga.Str("startedAt")), $"{vmId} {step}{(vm.Str("reason") is { } r ? ": " + r : "")}"));
        }
        // The state replayed on connect can hold several VMs' steps: in the order they happened.
        foreach (var (when, text) in changes.OrderBy(c => c.When ?? DateTimeOffset.MaxValue)) cli.Out.WriteLine($"{Time(when)} {text}");
        var latest = changes.Max(c => c.When); // the replayed state has no event time: its phase line takes its latest VM line's
        var phase = saga.Str("phase");
        if (phase != _lastPhase)
        {
            cli.Out.WriteLine($"{Time(at ?? (phase == "ended" ? Parse(saga.Str("endedAt")) : null) ?? latest ?? Parse(saga.Str("startedAt")))} saga {saga.Str("id")} {phase}{(saga.Str("outcome") is { } o ? ": " + o : "")}{(saga.Str("reason") is { } r ? " (" + r + ")" : "")}");
            _lastPhase = phase;
        }
    }

    /// <summary>When the VM reached <paramref name="step"/>, by its own timeline, else null.</summary>
    private static string? StepTime(JsonElement vm, string step) => step switch
    {
        "freezing" => vm.Str("freezeStartedAt"),
        "frozen" => vm.Str("frozenAt"),
        "thawed" => vm.Str("thawedAt"),
        "sent" => vm.Str("sentAt"),
        _ => vm.Str("endedAt"),
    };

    private static DateTimeOffset? Parse(string? iso) =>
        iso is not null && DateTimeOffset.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.None, out var t) ? t : null;

    /// <summary>A server time as local HH:mm:ss.fff; the local clock when there is none.</summary>
    private static string Time(DateTimeOffset? at) =>
        (at?.ToLocalTime() ?? DateTimeOffset.Now).ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);

    private void Redraw(JsonElement saga)
    {
        var lines = new List<string>();
        var vms = saga.Items("vms").ToList();
        foreach (var vm in vms)
        {
            var window = vm.TryGetProperty("freezeWindowMs", out var w) && w.ValueKind == JsonValueKind.Number ? $"  frozen {w.GetDouble():0} ms" : "";
            lines.Add($"  {vm.Str("vmId"),-20} {vm.Str("step"),-14}{window}{(vm.Str("reason") is { } r ? "  " + r : "")}");
        }
        var fraction = saga.Str("outcome") is not null ? 1 : vms.Count == 0 ? 0 : vms.Average(VmFraction);
        var filled = (int)Math.Round(fraction * BarWidth);
        lines.Add($"  [{new string('#', filled)}{new string('.', BarWidth - filled)}] {fraction * 100,3:0}%  {saga.Str("phase")}{(saga.Str("outcome") is { } o ? " → " + o : "")}");
        var sb = new StringBuilder();
        if (_drawnLines > 0) sb.Append("\x1b[").Append(_drawnLines).Append('A');
        foreach (var l in lines) sb.Append("\r\x1b[2K").Append(l).Append('\n');
        cli.Out.Write(sb.ToString());
        cli.Out.Flush();
        _drawnLines = lines.Count;
    }

    /// <summary>The final summary after the stream ended (text mode): outcome and per-VM freeze windows.</summary>
    public void Summary(JsonElement saga)
    {
        if (cli.AsJson) return;
        var window = saga.TryGetProperty("groupWindowMs", out var g) && g.ValueKind == JsonValueKind.Number ? $", group freeze window {g.GetDouble():0} ms" : "";
        cli.Out.WriteLine($"saga {saga.Str("id")} {saga.Str("outcome") ?? saga.Str("phase")}{window}{(saga.Str("reason") is { } r ? ": " + r : "")}");
        foreach (var vm in saga.Items("vms"))
        {
            // Freeze sagas: the VM's freeze window; power sagas: how long the command took and QEMU's evidence.
            var detail = vm.TryGetProperty("freezeWindowMs", out var w) && w.ValueKind == JsonValueKind.Number ? $"freeze window {w.GetDouble():0} ms"
                : vm.TryGetProperty("durationMs", out var d) && d.ValueKind == JsonValueKind.Number ? $"in {d.GetDouble():0} ms{(vm.Str("evidence") is { } e ? " (" + e + ")" : "")}"
                : "";
            cli.Out.WriteLine($"  {vm.Str("vmId"),-20} {vm.Str("step"),-14} {detail}{(vm.Str("reason") is { } vmReason ? "  " + vmReason : "")}".TrimEnd());
        }
    }
}
