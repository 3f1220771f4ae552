using System.Diagnostics;
using System.Diagnostics.Metrics;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Core.Telemetry;

/// <summary>
/// The orchestrator's instruments, all on one <see cref="Meter"/> named <see cref="MeterName"/> (export it with
/// OpenTelemetry <c>AddMeter("QgaOrchestrator")</c>). Calls are cheap when nobody listens and allocate nothing
/// beyond the stack-allocated <see cref="TagList"/>; outcome tags are constant strings.
/// </summary>
public static class QgaMetrics
{
    public const string MeterName = "QgaOrchestrator";

    public static readonly Meter Meter = new(MeterName, "1.0");

    /// <summary>
    /// The instruments tagged by vm. Their series grow with the fleet (vm × command × outcome): 1,000 VMs that have
    /// only answered guest-info and guest-ping already make 2,000 series of qga.commands, the OpenTelemetry SDK's
    /// default limit per metric, beyond which measurements land in one overflow series (a saga's status, freeze and
    /// thaw add three more per VM). A collector should raise the limit for these
    /// (OpenTelemetry: <c>AddView(name, new MetricStreamConfiguration { CardinalityLimit = PerVmCardinalityLimit })</c>).
    /// </summary>
    public static readonly IReadOnlyList<string> PerVmInstruments = ["qga.commands", "qga.command.duration", "qga.channel.resyncs", "qga.channel.breaks", "qga.freeze.window"];

    /// <summary>Series per vm-tagged instrument: 1,000 VMs × ~30 command/outcome pairs, with room.</summary>
    public const int PerVmCardinalityLimit = 100_000;

    /// <summary>qga.commands: every request a guest channel answered, by vm / command / outcome.</summary>
    public static readonly Counter<long> Commands = Meter.CreateCounter<long>("qga.commands", "{command}",
        "Guest agent commands answered, by vm, command and outcome (ok, error, timeout, channel_broken, unreachable, rejected)");

    /// <summary>qga.command.duration: accepted → answered, seconds.</summary>
    public static readonly Histogram<double> CommandDuration = Meter.CreateHistogram<double>("qga.command.duration", "s",
        "Guest agent command latency from acceptance by the channel to the answer");

    public static readonly Counter<long> ChannelResyncs = Meter.CreateCounter<long>("qga.channel.resyncs", "{resync}",
        "Guest channel resynchronisations (timeout or unexpected frame), by vm");

    public static readonly Counter<long> ChannelBreaks = Meter.CreateCounter<long>("qga.channel.breaks", "{break}",
        "Guest channel losses, by vm and kind (disconnected, broken)");

    /// <summary>qga.vms.frozen: VMs a saga has sent a freeze to and not yet seen thawed (maybe frozen).</summary>
    public static readonly UpDownCounter<long> FrozenVms = Meter.CreateUpDownCounter<long>("qga.vms.frozen", "{vm}",
        "VMs currently (maybe) frozen by a saga");

    /// <summary>qga.freeze.window: freeze sent → thaw confirmed, seconds; scope=vm (with vm) or scope=group.</summary>
    public static readonly Histogram<double> FreezeWindow = Meter.CreateHistogram<double>("qga.freeze.window", "s",
        "Freeze window per VM and per saga group");

    public static readonly Counter<long> Sagas = Meter.CreateCounter<long>("qga.sagas", "{saga}",
        "Sagas ended, by kind and outcome");

    /// <summary>Start of a latency measurement (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    public static long Now() => Stopwatch.GetTimestamp();

    public static void CommandAnswered(string vmId, string command, string outcome, long startedAt)
    {
        if (!Commands.Enabled && !CommandDuration.Enabled) return;
        var tags = new TagList { { "vm", vmId }, { "command", command }, { "outcome", outcome } };
        Commands.Add(1, tags);
        CommandDuration.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds, tags);
    }

    public static string OutcomeOf(bool qgaError, Vm.Failure? failure) => failure?.Kind switch
    {
        null => qgaError ? "error" : "ok",
        Vm.FailureKind.Timeout => "timeout",
        Vm.FailureKind.ChannelBroken => "channel_broken",
        Vm.FailureKind.Unreachable => "unreachable",
        Vm.FailureKind.Rejected => "rejected",
        _ => "failed",
    };

    public static void ChannelResynced(string vmId) => ChannelResyncs.Add(1, new KeyValuePair<string, object?>("vm", vmId));

    public static void ChannelBroke(string vmId, string kind) =>
        ChannelBreaks.Add(1, new KeyValuePair<string, object?>("vm", vmId), new KeyValuePair<string, object?>("kind", kind));

    public static void FrozenChanged(long delta)
    {
        if (delta != 0) FrozenVms.Add(delta);
    }

    public static void VmFreezeWindow(string vmId, TimeSpan window) =>
        FreezeWindow.Record(window.TotalSeconds, new KeyValuePair<string, object?>("scope", "vm"), new KeyValuePair<string, object?>("vm", vmId));

    public static void GroupFreezeWindow(string sagaKind, TimeSpan window) =>
        FreezeWindow.Record(window.TotalSeconds, new KeyValuePair<string, object?>("scope", "group"), new KeyValuePair<string, object?>("kind", sagaKind));

    public static void SagaEnded(string kind, string outcome) =>
        Sagas.Add(1, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("outcome", outcome));
}
