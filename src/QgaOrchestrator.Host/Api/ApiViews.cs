using System.Text.Json;
using QgaOrchestrator.Core.Sagas;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Host.Api;

/// <summary>What the API shows of one VM; <c>source</c> is fleet, libvirt or proxmox (discovered).</summary>
public sealed record VmView(
    string Id,
    string QgaSocket,
    string? QmpSocket,
    IReadOnlyList<string> Disks,
    IReadOnlyDictionary<string, string> Labels,
    bool AgentConnected,
    string? AgentVersion,
    string? FreezeStatus,
    bool MonitorConnected,
    string? RunState,
    string? LastError,
    IReadOnlyList<string>? EnabledCommands,
    VmSource Source)
{
    public static VmView From(Vm.Status s, bool withCommands) => new(
        s.VmId, s.Config.QgaSocket, s.Config.QmpSocket, s.Config.Disks, s.Config.Labels, s.AgentConnected, s.AgentVersion,
        s.FreezeStatus, s.MonitorConnected, s.RunState, s.LastError, withCommands ? s.EnabledCommands : null, s.Config.Source);
}

/// <summary>The answer to one command: its return value as the guest sent it.</summary>
public sealed record CommandResultView(string VmId, string Command, JsonElement? Return);

public static class SagaKinds
{
    public const string FreezeSnapshotThaw = "freeze-snapshot-thaw";
    public const string Fstrim = "fstrim";
    public const string Suspend = "suspend";
    public const string Resume = "resume";
    public const string Shutdown = "shutdown";

    public static string Of(SagaKind kind) => kind switch
    {
        SagaKind.Suspend => Suspend,
        SagaKind.Resume => Resume,
        SagaKind.Shutdown => Shutdown,
        _ => FreezeSnapshotThaw,
    };

    public static string Of(PowerOperation op) => op.IsSuspend() ? Suspend : op == PowerOperation.Resume ? Resume : Shutdown;

    public static bool IsPower(string kind) => kind is Suspend or Resume or Shutdown;
}

/// <summary>One line of <c>GET /sagas</c>; Outcome null = still running.</summary>
public sealed record SagaSummaryView(string Id, string Kind, DateTimeOffset RegisteredAt, string? Outcome);

/// <summary>One dated line of a power saga's VM timeline.</summary>
public sealed record SagaTimelineView(DateTimeOffset At, string What);

/// <summary>One mount of an fstrim saga's VM: the bytes the guest trimmed there, or its error.</summary>
public sealed record SagaTrimView(string Path, long? TrimmedBytes, long? MinimumBytes, string? Error);

/// <summary>
/// One VM inside a saga: the freeze timeline (freeze sagas), the per-mount results (fstrim), or, for power sagas, the command sent,
/// QEMU's evidence, when it was sent and ended, and the dated timeline (the freeze fields stay null).
/// </summary>
public sealed record SagaVmView(
    string VmId,
    string Step,
    string? Reason,
    DateTimeOffset? FreezeStartedAt,
    DateTimeOffset? FrozenAt,
    DateTimeOffset? SnapshotAt,
    DateTimeOffset? ThawedAt,
    double? FreezeWindowMs,
    bool SnapshotTaken,
    int ThawAttempts,
    string? Command = null,
    string? Evidence = null,
    DateTimeOffset? SentAt = null,
    DateTimeOffset? EndedAt = null,
    double? DurationMs = null,
    IReadOnlyList<SagaTimelineView>? Timeline = null,
    IReadOnlyList<SagaTrimView>? Trimmed = null);

/// <summary><c>GET /sagas/{id}</c> of any kind: the phase, the outcome once ended, and one timeline per VM.</summary>
public sealed record SagaView(
    string Id,
    string Kind,
    string Phase,
    string? Mode,
    string? Name,
    string? Outcome,
    string? Reason,
    DateTimeOffset? StartedAt,
    DateTimeOffset? EndedAt,
    DateTimeOffset? DeadlineAt,
    double? GroupWindowMs,
    IReadOnlyList<SagaVmView> Vms)
{
    public bool Ended => Outcome is not null;

    /// <summary>True in external mode while every VM is frozen and the saga waits for snapshot-done.</summary>
    public bool AwaitingSnapshot => Kind == SagaKinds.FreezeSnapshotThaw && Mode == "external" && Phase == "snapshotting";

    public static SagaView From(FreezeSnapshotThawState s) => new(
        s.SagaId, SagaKinds.FreezeSnapshotThaw, Kebab(s.Phase.ToString()), Kebab(s.Mode.ToString()), s.Name,
        s.Outcome is { } o ? Kebab(o.ToString()) : null, s.EndReason ?? s.CompensationReason,
        s.StartedAt, s.EndedAt, s.StartedAt is null ? null : s.DeadlineAt, s.GroupWindow?.TotalMilliseconds,
        s.Tracks.Select(v => new SagaVmView(v.VmId, Kebab(v.Step.ToString()), v.Reason, v.FreezeStartedAt, v.FrozenAt, v.SnapshotAt, v.ThawedAt,
            v.FreezeWindow?.TotalMilliseconds, v.SnapshotTaken, v.ThawAttempts)).ToList());

    public static SagaView From(TrimManager.TrimSummary t)
    {
        var failed = t.Results.Any(r => r.Value is not null);
        return new(t.SagaId, SagaKinds.Fstrim, t.EndedAt is null ? "trimming" : "ended", null, null,
            t.EndedAt is null ? null : failed ? "failed" : "completed", failed ? "a trim failed" : null,
            t.StartedAt, t.EndedAt, null, null,
            t.VmIds.Select(vm => new SagaVmView(vm,
                !t.Results.TryGetValue(vm, out var error) ? "pending" : error is null ? "trimmed" : "failed",
                error, null, null, null, null, null, false, 0,
                Trimmed: t.Paths?.TryGetValue(vm, out var paths) == true
                    ? paths.Select(p => new SagaTrimView(p.Path, p.Trimmed, p.Minimum, p.Error)).ToList()
                    : null)).ToList());
    }

    /// <summary>A power saga: Mode is the suspend or shutdown mode (null for resume); each VM ends succeeded, failed or skipped.</summary>
    public static SagaView From(PowerSagaState s) => new(
        s.SagaId, SagaKinds.Of(s.Operation), Kebab(s.Phase.ToString()), ModeOf(s.Operation), null,
        s.Outcome is { } o ? Kebab(o.ToString()) : null, s.EndReason, s.StartedAt, s.EndedAt, null, null,
        s.Tracks.Select(v => new SagaVmView(v.VmId, Kebab(v.Step.ToString()), v.Reason, null, null, null, null, null, false, 0,
            v.Command, v.Evidence, v.SentAt, v.EndedAt, v.Duration?.TotalMilliseconds,
            v.Timeline.Select(t => new SagaTimelineView(t.At, t.What)).ToList())).ToList());

    private static string? ModeOf(PowerOperation op) => op switch
    {
        PowerOperation.SuspendRam => "ram",
        PowerOperation.SuspendDisk => "disk",
        PowerOperation.SuspendHybrid => "hybrid",
        PowerOperation.Resume => null,
        _ => op.ShutdownModeArgument(),
    };

    public static string Kebab(string pascal) => JsonNamingPolicy.KebabCaseLower.ConvertName(pascal);
}

/// <summary>One server-sent event of a saga: the journaled event's type and VM, and the saga after it.</summary>
public sealed record SagaProgressView(string Event, string? VmId, DateTimeOffset At, SagaView Saga);
