namespace QgaOrchestrator.Core.Sagas;

/// <summary>What a power saga does to every VM of its group.</summary>
public enum PowerOperation
{
    /// <summary><c>guest-suspend-ram</c> (S3); needs QEMU wakeup support; confirmed by SUSPEND / status "suspended".</summary>
    SuspendRam,
    /// <summary><c>guest-suspend-disk</c> (S4); confirmed by SUSPEND_DISK / SHUTDOWN / status "shutdown" / QEMU exiting.</summary>
    SuspendDisk,
    /// <summary><c>guest-suspend-hybrid</c> (image saved, then S3); same checks and confirmation as ram.</summary>
    SuspendHybrid,
    /// <summary>QMP <c>system_wakeup</c> of a suspended VM, confirmed by WAKEUP / status "running", then the guest channel re-syncs.</summary>
    Resume,
    /// <summary><c>guest-shutdown powerdown</c>, confirmed by SHUTDOWN / status "shutdown" / QEMU exiting.</summary>
    Powerdown,
    /// <summary><c>guest-shutdown halt</c>; a halted guest raises no QEMU event, so the agent's port closing also confirms.</summary>
    Halt,
    /// <summary><c>guest-shutdown reboot</c>, confirmed by the RESET event only (status stays "running").</summary>
    Reboot,
}

public enum SuspendMode { Ram, Disk, Hybrid }

public enum ShutdownMode { Powerdown, Halt, Reboot }

/// <summary>What to do when a VM fails its checks (paused, no agent, no QMP, no wakeup support).</summary>
public enum PowerGroupPolicy
{
    /// <summary>Nothing is sent to any VM; the saga fails with each VM's reason.</summary>
    FailGroup,
    /// <summary>That VM fails with its reason; the others go ahead.</summary>
    ContinueOthers,
}

/// <summary>
/// The persisted events of one power saga (suspend, resume, shutdown): past tense, ids and data only.
/// <see cref="PowerCommandRequested"/> is persisted BEFORE the command leaves the actor; checks and
/// status polls are reads and are re-sent freely after a restart.
/// </summary>
public interface IPowerSagaEvent : Persistence.IJournalEvent
{
    string SagaId { get; }
    DateTimeOffset At { get; }
}

/// <summary>Per-VM events carry the VM they are about (they make up its timeline).</summary>
public interface IPowerVmEvent : IPowerSagaEvent
{
    string VmId { get; }
}

public sealed record PowerSagaStarted(
    string SagaId,
    IReadOnlyList<string> VmIds,
    PowerOperation Operation,
    TimeSpan Timeout,
    bool Fallback,
    PowerGroupPolicy Policy,
    DateTimeOffset At) : IPowerSagaEvent;

/// <summary>The pre-checks sent to a VM: "status" (query-status), "machine" (query-current-machine), "agent" (guest-ping).</summary>
public sealed record PowerChecksRequested(string SagaId, string VmId, IReadOnlyList<string> Checks, DateTimeOffset At) : IPowerVmEvent;

/// <summary>One check's answer: <paramref name="Value"/> (run state, "true"/"false", "ok") or <paramref name="Error"/>.</summary>
public sealed record PowerCheckObserved(string SagaId, string VmId, string Check, string? Value, string? Error, DateTimeOffset At) : IPowerVmEvent;

/// <summary>Intent: <paramref name="Command"/> (QGA or QMP) is about to be sent; confirmation is due by <paramref name="DeadlineAt"/>.</summary>
public sealed record PowerCommandRequested(string SagaId, string VmId, string Command, DateTimeOffset DeadlineAt, DateTimeOffset At) : IPowerVmEvent;

/// <summary>The guest or QEMU refused the command (before a fallback is tried).</summary>
public sealed record PowerCommandFailed(string SagaId, string VmId, string Command, string Reason, DateTimeOffset At) : IPowerVmEvent;

/// <summary>The VM woke up: the guest channel is re-synced and the agent pinged.</summary>
public sealed record PowerResyncRequested(string SagaId, string VmId, string Evidence, DateTimeOffset At) : IPowerVmEvent;

/// <summary>The deadline passed unconfirmed: one last query-status decides.</summary>
public sealed record PowerFinalCheckRequested(string SagaId, string VmId, DateTimeOffset At) : IPowerVmEvent;

/// <summary>Confirmed, with what confirmed it (an event, the run state, QEMU exiting).</summary>
public sealed record PowerVmSucceeded(string SagaId, string VmId, string Evidence, DateTimeOffset At) : IPowerVmEvent;

public sealed record PowerVmFailed(string SagaId, string VmId, string Reason, DateTimeOffset At) : IPowerVmEvent;

/// <summary>Nothing was sent to this VM: already in the target state, or its group did not start.</summary>
public sealed record PowerVmSkipped(string SagaId, string VmId, string Reason, DateTimeOffset At) : IPowerVmEvent;

/// <summary>The saga actor was recovered from the journal: outstanding checks and confirmations are resumed.</summary>
public sealed record PowerSagaRecovered(string SagaId, DateTimeOffset At) : IPowerSagaEvent;

public sealed record PowerSagaEnded(string SagaId, SagaOutcome Outcome, string? Reason, DateTimeOffset At) : IPowerSagaEvent;
