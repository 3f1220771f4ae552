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
        else PlainLines(saga, data.Str("event"));
    }

    private void PlainLines(JsonElement saga, string? eventName)
    {
        var id = saga.Str("id");
        var phase = saga.Str("phase");
        if (phase != _lastPhase)
        {
            cli.Out.WriteLine($"{Now()} saga {id} {phase}{(saga.Str("outcome") is { } o ? ": " + o : "")}{(saga.Str("reason") is { } r ? " (" + r + ")" : "")}");
            _lastPhase = phase;
        }
        foreach (var vm in saga.Items("vms"))
        {
            var vmId = vm.Str("vmId")!;
            var step = vm.Str("step") ?? "";
            if (_lastSteps.TryGetValue(vmId, out var last) && last == step) continue;
            _lastSteps[vmId] = step;
            cli.Out.WriteLine($"{Now()} {vmId} {step}{(vm.Str("reason") is { } r ? ": " + r : "")}");
        }
        _ = eventName;
    }

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

    private static string Now() => DateTimeOffset.Now.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);

    /// <summary>The final summary after the stream ended (text mode): outcome and per-VM freeze windows.</summary>
    public void Summary(JsonElement saga)
    {
        if (cli.AsJson) return;
        var window = saga.TryGetProperty("groupWindowMs", out var g) && g.ValueKind == JsonValueKind.Number ? $", group freeze window {g.GetDouble():0} ms" : "";
        cli.Out.WriteLine($"saga {saga.Str("id")} {saga.Str("outcome") ?? saga.Str("phase")}{window}{(saga.Str("reason") is { } r ? ": " + r : "")}");
        foreach (var vm in saga.Items("vms"))
        {
            var frozen = vm.TryGetProperty("freezeWindowMs", out var w) && w.ValueKind == JsonValueKind.Number ? $"freeze window {w.GetDouble():0} ms" : "";
            cli.Out.WriteLine($"  {vm.Str("vmId"),-20} {vm.Str("step"),-14} {frozen}{(vm.Str("reason") is { } vmReason ? "  " + vmReason : "")}");
        }
    }
}
