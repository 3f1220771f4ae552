namespace QgaOrchestrator.Core.Sagas;

/// <summary>How the snapshot is taken while every guest of the group is frozen.</summary>
public enum SnapshotMode
{
    /// <summary>One QMP <c>transaction</c> of <c>blockdev-snapshot-sync</c> per VM, all VMs in parallel.</summary>
    Qmp,
    /// <summary>A configured command (zfs/lvm/rbd) run per VM or once for the group.</summary>
    Command,
    /// <summary>The caller takes its own snapshot and sends <c>SnapshotDone</c> while the saga holds the freeze.</summary>
    External,
}

/// <summary>What to do with a VM that is paused or has no agent: never a silent success.</summary>
public enum UnavailablePolicy
{
    /// <summary>Snapshot it without freezing and report it as crash-consistent.</summary>
    SkipCrashConsistent,
    /// <summary>Fail the whole group before anything is frozen.</summary>
    FailGroup,
}

public enum SagaOutcome
{
    Completed,
    /// <summary>A freeze, snapshot or agent failure; every maybe-frozen VM was thawed.</summary>
    Failed,
    /// <summary>Deadline, abort request or orchestrator restart; every maybe-frozen VM was thawed.</summary>
    Aborted,
}

/// <summary>
/// The persisted events of one FreezeSnapshotThaw saga: past tense, ids and data only (no IActorRef).
/// Intents (<see cref="StatusRequested"/>, <see cref="FreezeRequested"/>, <see cref="SnapshotRequested"/>,
/// <see cref="ThawRequested"/>) are persisted BEFORE the matching message leaves the actor.
/// </summary>
public interface IFreezeSagaEvent : Persistence.IJournalEvent
{
    string SagaId { get; }
    DateTimeOffset At { get; }
}

public sealed record SagaStarted(
    string SagaId,
    IReadOnlyList<string> VmIds,
    SnapshotMode Mode,
    string Name,
    DateTimeOffset DeadlineAt,
    UnavailablePolicy Policy,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Mountpoints,
    IReadOnlyList<string> NoFreezableFs,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Disks,
    DateTimeOffset At) : IFreezeSagaEvent;

public sealed record StatusRequested(string SagaId, string VmId, DateTimeOffset At) : IFreezeSagaEvent;

/// <summary>The VM reported <c>thawed</c>: it is ours to freeze.</summary>
public sealed record VmReadyToFreeze(string SagaId, string VmId, DateTimeOffset At) : IFreezeSagaEvent;

/// <summary>The VM was already frozen by someone else; we neither freeze nor thaw it.</summary>
public sealed record VmAlreadyFrozen(string SagaId, string VmId, DateTimeOffset At) : IFreezeSagaEvent;

/// <summary>Paused, no agent, unknown: handled by <see cref="UnavailablePolicy"/>.</summary>
public sealed record VmUnavailable(string SagaId, string VmId, string Reason, bool Skipped, DateTimeOffset At) : IFreezeSagaEvent;

public sealed record FreezeRequested(string SagaId, string VmId, DateTimeOffset At) : IFreezeSagaEvent;

public sealed record VmFrozen(string SagaId, string VmId, long Count, DateTimeOffset At) : IFreezeSagaEvent;

public sealed record VmFreezeFailed(string SagaId, string VmId, string Reason, DateTimeOffset At) : IFreezeSagaEvent;

/// <summary>Every target is frozen (or skipped); the snapshot step starts (or, external, the caller is told).</summary>
public sealed record SnapshotRequested(string SagaId, DateTimeOffset At) : IFreezeSagaEvent;

/// <summary>A snapshot was taken; <paramref name="VmId"/> null = one group snapshot covering every target.</summary>
public sealed record SnapshotTaken(string SagaId, string? VmId, DateTimeOffset At) : IFreezeSagaEvent;

public sealed record SnapshotFailed(string SagaId, string? VmId, string Reason, DateTimeOffset At) : IFreezeSagaEvent;

/// <summary>From here on only thaws are sent; the saga ends with <paramref name="Outcome"/>.</summary>
public sealed record CompensationStarted(string SagaId, SagaOutcome Outcome, string Reason, DateTimeOffset At) : IFreezeSagaEvent;

public sealed record ThawRequested(string SagaId, string VmId, int Attempt, DateTimeOffset At) : IFreezeSagaEvent;

public sealed record VmThawed(string SagaId, string VmId, long Count, DateTimeOffset At) : IFreezeSagaEvent;

public sealed record VmThawFailed(string SagaId, string VmId, string Reason, int Attempt, DateTimeOffset At) : IFreezeSagaEvent;

/// <summary>The fleet no longer knows the VM: nothing left to thaw.</summary>
public sealed record VmGone(string SagaId, string VmId, string Reason, DateTimeOffset At) : IFreezeSagaEvent;

public sealed record SagaEnded(string SagaId, SagaOutcome Outcome, string? Reason, DateTimeOffset At) : IFreezeSagaEvent;
