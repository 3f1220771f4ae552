using System.Collections.Immutable;
using System.Globalization;

namespace QgaOrchestrator.Core.Sagas;

/*
 * A power saga (suspend ram/disk/hybrid, resume, shutdown powerdown/halt/reboot) as a pure state machine.
 * Per VM:
 *
 *   Pending ──Begin──▶ Checking ──all VMs checked──▶ Sent ──confirming event / query-status / QEMU exit──▶ Succeeded
 *                        │ blocked (paused, no agent,   │ ▲ refused + fallback │ deadline
 *                        │ no QMP, no wakeup support)    │ └─system_powerdown───┤
 *                        │ or already there              │                      ▼
 *                        ▼                               │                 FinalCheck ──status confirms──▶ Succeeded
 *                  Failed | Skipped                      │ refused             │ not confirmed: fallback (shutdown) → Sent,
 *                                                        ▼                     ▼ else Failed
 *                                                      Failed               Failed
 *   Resume: Sent (system_wakeup) ──WAKEUP / status running──▶ Resyncing (channel re-sync + guest-ping) ──▶ Succeeded | Failed
 *
 * Group: the commands go out only when every VM is checked; with FailGroup one blocked VM means none is
 * sent. A sent command is never re-sent after a restart (Recovered): the saga goes on waiting for QEMU's
 * confirmation until the persisted deadline, and a VM is never reported done without evidence.
 */

public enum PowerPhase { Created, Checking, Running, Ended }

public enum PowerVmStep { Pending, Checking, Sent, Resyncing, FinalCheck, Succeeded, Failed, Skipped }

public sealed record PowerTimelineEntry(DateTimeOffset At, string What);

/// <summary>One VM's progress and timeline inside a power saga.</summary>
public sealed record PowerVmTrack
{
    public required string VmId { get; init; }
    public PowerVmStep Step { get; init; } = PowerVmStep.Pending;
    public ImmutableHashSet<string> ChecksPending { get; init; } = [];
    /// <summary>Check name → its value ("running", "true", "ok") or "error: ...".</summary>
    public ImmutableDictionary<string, string> CheckResults { get; init; } = ImmutableDictionary<string, string>.Empty;
    public ImmutableHashSet<string> CheckFailures { get; init; } = [];
    /// <summary>The command in flight (the first one, or system_powerdown once the fallback was sent).</summary>
    public string? Command { get; init; }
    public DateTimeOffset? DeadlineAt { get; init; }
    public bool FallbackSent { get; init; }
    public DateTimeOffset? SentAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public string? Evidence { get; init; }
    public string? Reason { get; init; }
    /// <summary>The orchestrator restarted while this VM awaited confirmation: its command may not have left.</summary>
    public bool InterruptedByRestart { get; init; }
    public ImmutableList<PowerTimelineEntry> Timeline { get; init; } = [];

    public bool IsFinal => Step is PowerVmStep.Succeeded or PowerVmStep.Failed or PowerVmStep.Skipped;

    /// <summary>Waiting for QEMU to confirm the command.</summary>
    public bool AwaitsConfirmation => Step is PowerVmStep.Sent or PowerVmStep.FinalCheck;

    /// <summary>First command sent → confirmed or failed.</summary>
    public TimeSpan? Duration => SentAt is { } s && EndedAt is { } e ? e - s : null;

    public string? Check(string name) => CheckResults.GetValueOrDefault(name);

    public bool CheckFailed(string name) => CheckFailures.Contains(name);
}

/// <summary>What a power saga observed or was asked; <see cref="PowerSagaState.Decide"/> turns these into events.</summary>
public abstract record PowerInput
{
    public sealed record Begin(string SagaId, IReadOnlyList<string> VmIds, PowerOperation Operation, TimeSpan Timeout,
        bool Fallback, PowerGroupPolicy Policy) : PowerInput;

    /// <summary>A pre-check answer: <paramref name="Value"/> or <paramref name="Error"/>.</summary>
    public sealed record CheckObserved(string VmId, string Check, string? Value, string? Error) : PowerInput;

    /// <summary>The guest or QEMU definitely did not carry out <paramref name="Command"/> (an error reply, or never sent).</summary>
    public sealed record CommandRefused(string VmId, string Command, string Reason) : PowerInput;

    public sealed record EventObserved(string VmId, string Name, bool? PortOpen = null) : PowerInput;

    /// <summary>query-status: <paramref name="Status"/>, or <paramref name="Error"/> (MonitorGone: QMP unreachable). Final: the deadline's last look.</summary>
    public sealed record StatusObserved(string VmId, string? Status, string? Error, bool MonitorGone, bool Final) : PowerInput;

    /// <summary>guest-ping after the re-sync that follows a wakeup.</summary>
    public sealed record AgentObserved(string VmId, string? Error) : PowerInput;

    public sealed record DeadlineReached(string VmId) : PowerInput;

    /// <summary>The fleet does not know the VM.</summary>
    public sealed record Gone(string VmId, string Reason) : PowerInput;

    public sealed record AbortRequested(string Reason) : PowerInput;

    public sealed record Recovered : PowerInput
    {
        public static readonly Recovered Instance = new();
        private Recovered() { }
    }
}

public sealed record PowerSagaState
{
    public static readonly PowerSagaState Empty = new();

    public string SagaId { get; init; } = "";
    public PowerPhase Phase { get; init; } = PowerPhase.Created;
    public PowerOperation Operation { get; init; }
    public TimeSpan Timeout { get; init; }
    public bool Fallback { get; init; }
    public PowerGroupPolicy Policy { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public int Recoveries { get; init; }
    public ImmutableList<string> Order { get; init; } = [];
    public ImmutableDictionary<string, PowerVmTrack> Vms { get; init; } = ImmutableDictionary<string, PowerVmTrack>.Empty;
    public SagaOutcome? Outcome { get; init; }
    public string? EndReason { get; init; }

    public bool IsEnded => Phase == PowerPhase.Ended;
    public IEnumerable<PowerVmTrack> Tracks => Order.Select(id => Vms[id]);

    /// <summary>system_powerdown may follow guest-shutdown (asked for, and never for reboot).</summary>
    public bool FallbackAllowed => Fallback && Operation.AllowsFallback();

    // ---- Apply: event → state (total, never throws on a replayed journal) ---------------------

    public PowerSagaState Apply(IPowerSagaEvent e) => e switch
    {
        PowerSagaStarted s => this with
        {
            SagaId = s.SagaId, Phase = PowerPhase.Checking, Operation = s.Operation, Timeout = s.Timeout,
            Fallback = s.Fallback, Policy = s.Policy, StartedAt = s.At, Order = [.. s.VmIds],
            Vms = s.VmIds.Distinct().ToImmutableDictionary(id => id, id => new PowerVmTrack { VmId = id }),
        },
        PowerChecksRequested c => Update(c, $"checks sent: {string.Join(", ", c.Checks)}",
            v => v with { Step = PowerVmStep.Checking, ChecksPending = [.. c.Checks] }),
        PowerCheckObserved o => Update(o, o.Error is null ? $"{o.Check}: {o.Value}" : $"{o.Check} failed: {o.Error}", v => v with
        {
            ChecksPending = v.ChecksPending.Remove(o.Check),
            CheckResults = v.CheckResults.SetItem(o.Check, o.Error is null ? o.Value ?? "" : "error: " + o.Error),
            CheckFailures = o.Error is null ? v.CheckFailures.Remove(o.Check) : v.CheckFailures.Add(o.Check),
        }),
        PowerCommandRequested r => Update(r, $"{r.Command} sent; confirmation due by {r.DeadlineAt:O}", v => v with
        {
            Step = PowerVmStep.Sent, Command = r.Command, DeadlineAt = r.DeadlineAt, SentAt = v.SentAt ?? r.At,
            FallbackSent = v.FallbackSent || r.Command == Protocol.Qmp.QmpCommands.SystemPowerdown,
        }) with { Phase = PowerPhase.Running },
        PowerCommandFailed f => Update(f, $"{f.Command} refused: {f.Reason}", v => v with { Reason = f.Reason }),
        PowerResyncRequested r => Update(r, $"{r.Evidence}; re-syncing the guest channel", v => v with { Step = PowerVmStep.Resyncing, Evidence = r.Evidence }),
        PowerFinalCheckRequested f => Update(f, "deadline passed unconfirmed: final query-status", v => v with { Step = PowerVmStep.FinalCheck }),
        PowerVmSucceeded s => Update(s, "succeeded: " + s.Evidence, v => v with { Step = PowerVmStep.Succeeded, Evidence = s.Evidence, EndedAt = s.At }),
        PowerVmFailed f => Update(f, "failed: " + f.Reason, v => v with { Step = PowerVmStep.Failed, Reason = f.Reason, EndedAt = f.At }),
        PowerVmSkipped k => Update(k, "skipped: " + k.Reason, v => v with { Step = PowerVmStep.Skipped, Reason = k.Reason, EndedAt = k.At }),
        PowerSagaRecovered r => this with
        {
            Recoveries = Recoveries + 1,
            Vms = Vms.SetItems(Tracks.Where(v => !v.IsFinal).Select(v => KeyValuePair.Create(v.VmId,
                v with
                {
                    InterruptedByRestart = v.InterruptedByRestart || v.AwaitsConfirmation,
                    Timeline = v.Timeline.Add(new PowerTimelineEntry(r.At, "orchestrator restarted: resuming")),
                }))),
        },
        PowerSagaEnded s => this with { Phase = PowerPhase.Ended, Outcome = s.Outcome, EndReason = s.Reason, EndedAt = s.At },
        _ => this,
    };

    private PowerSagaState Update(IPowerVmEvent e, string what, Func<PowerVmTrack, PowerVmTrack> f) =>
        Vms.TryGetValue(e.VmId, out var v)
            ? this with { Vms = Vms.SetItem(e.VmId, f(v) with { Timeline = v.Timeline.Add(new PowerTimelineEntry(e.At, what)) }) }
            : this;

    // ---- Decide: input → events (pure; the actor persists them, then acts on the intents) -----

    public IReadOnlyList<IPowerSagaEvent> Decide(PowerInput input, DateTimeOffset now)
    {
        if (IsEnded) return [];
        var d = new Decision(this, now);
        switch (input)
        {
            case PowerInput.Begin b when Phase == PowerPhase.Created:
                d.Begin(b);
                break;
            case PowerInput.CheckObserved c when Track(c.VmId) is { Step: PowerVmStep.Checking } v && v.ChecksPending.Contains(c.Check):
                d.Add(new PowerCheckObserved(SagaId, c.VmId, c.Check, c.Value, c.Error, now));
                d.DispatchIfChecked();
                break;
            case PowerInput.CommandRefused r when Track(r.VmId) is { AwaitsConfirmation: true } v && v.Command == r.Command:
                d.OnRefused(v, r);
                break;
            case PowerInput.EventObserved ev when Track(ev.VmId) is { AwaitsConfirmation: true } v:
                if (Operation.ConfirmingEvent(ev.Name, ev.PortOpen) is { } evidence) d.Confirm(v, evidence);
                break;
            case PowerInput.StatusObserved s when Track(s.VmId) is { AwaitsConfirmation: true } v:
                d.OnStatus(v, s);
                break;
            case PowerInput.AgentObserved a when Track(a.VmId) is { Step: PowerVmStep.Resyncing } v:
                if (a.Error is null) d.Add(new PowerVmSucceeded(SagaId, v.VmId, $"woke up ({v.Evidence}); the agent answered after re-sync", now));
                else d.Add(new PowerVmFailed(SagaId, v.VmId, $"woke up ({v.Evidence}), but the guest agent did not answer after re-sync: {a.Error}", now));
                d.EndIfDone();
                break;
            case PowerInput.DeadlineReached r when Track(r.VmId) is { Step: PowerVmStep.Sent }:
                d.Add(new PowerFinalCheckRequested(SagaId, r.VmId, now));
                break;
            case PowerInput.Gone g when Track(g.VmId) is { IsFinal: false }:
                d.Add(new PowerVmFailed(SagaId, g.VmId, "unknown VM: " + g.Reason, now));
                if (Phase == PowerPhase.Checking) d.DispatchIfChecked();
                else d.EndIfDone();
                break;
            case PowerInput.AbortRequested a when Phase is PowerPhase.Checking or PowerPhase.Running:
                d.Abort(a.Reason);
                break;
            case PowerInput.Recovered when Phase is PowerPhase.Checking or PowerPhase.Running:
                d.Add(new PowerSagaRecovered(SagaId, now));
                d.DispatchIfChecked(); // the last check may be journaled without the decision it led to
                break;
        }
        return d.Events;
    }

    private PowerVmTrack? Track(string vmId) => Vms.GetValueOrDefault(vmId);

    /// <summary>Why a checked VM cannot take part, or null; <paramref name="skip"/> when it is already there.</summary>
    private string? Blocker(PowerVmTrack v, out bool skip, out bool acpiOnly)
    {
        skip = false;
        acpiOnly = false;
        var status = v.Check(PowerOperations.StatusCheck);
        if (v.CheckFailed(PowerOperations.StatusCheck)) return $"QEMU monitor unavailable, cannot confirm ({status})";
        if (status is not null && Operation.AlreadyDone(status))
        {
            skip = true;
            return $"already {status}";
        }
        var wanted = Operation == PowerOperation.Resume ? "suspended" : "running";
        if (status != wanted) return $"not {wanted} (status {status})";
        if (Operation.NeedsWakeupSupport())
        {
            if (v.CheckFailed(PowerOperations.MachineCheck)) return $"query-current-machine failed ({v.Check(PowerOperations.MachineCheck)})";
            if (v.Check(PowerOperations.MachineCheck) != "true")
                return "QEMU could not wake this guest up again (query-current-machine: wakeup-suspend-support is false); not suspended";
        }
        if (v.CheckFailed(PowerOperations.AgentCheck))
        {
            if (FallbackAllowed)
            {
                acpiOnly = true;
                return null;
            }
            return $"no guest agent ({v.Check(PowerOperations.AgentCheck)})";
        }
        return null;
    }

    /// <summary>Accumulates events, applying each so later decisions see earlier ones.</summary>
    private sealed class Decision(PowerSagaState state, DateTimeOffset now)
    {
        public PowerSagaState State { get; private set; } = state;
        public List<IPowerSagaEvent> Events { get; } = [];
        private string Id => State.SagaId;

        public void Add(IPowerSagaEvent e)
        {
            Events.Add(e);
            State = State.Apply(e);
        }

        public void Begin(PowerInput.Begin b)
        {
            Add(new PowerSagaStarted(b.SagaId, b.VmIds.Distinct().ToList(), b.Operation, b.Timeout, b.Fallback, b.Policy, now));
            if (State.Order.Count == 0)
            {
                Add(new PowerSagaEnded(b.SagaId, SagaOutcome.Failed, "empty group", now));
                return;
            }
            var checks = b.Operation.Checks();
            foreach (var id in State.Order) Add(new PowerChecksRequested(b.SagaId, id, checks.ToList(), now));
        }

        /// <summary>Once no VM is being checked: fail/skip the blocked ones and send to the rest (or, FailGroup, to none).</summary>
        public void DispatchIfChecked()
        {
            if (State.Phase != PowerPhase.Checking || State.Tracks.Any(v => v.Step == PowerVmStep.Checking && !v.ChecksPending.IsEmpty)) return;
            var ready = new List<(string VmId, bool AcpiOnly)>();
            foreach (var v in State.Tracks.Where(v => v.Step == PowerVmStep.Checking).ToList())
            {
                if (State.Blocker(v, out var skip, out var acpiOnly) is not { } why) ready.Add((v.VmId, acpiOnly));
                else if (skip) Add(new PowerVmSkipped(Id, v.VmId, why, now));
                else Add(new PowerVmFailed(Id, v.VmId, why, now));
            }
            // While checking, every failed VM is a blocked one (its checks failed, or it is unknown).
            var blocked = State.Tracks.Where(v => v.Step == PowerVmStep.Failed).Select(v => $"{v.VmId}: {v.Reason}").ToList();
            if (blocked.Count > 0 && State.Policy == PowerGroupPolicy.FailGroup)
            {
                foreach (var (vm, _) in ready) Add(new PowerVmSkipped(Id, vm, "not sent: the group failed its checks (" + string.Join("; ", blocked) + ")", now));
            }
            else
            {
                foreach (var (vm, acpiOnly) in ready)
                {
                    if (acpiOnly) Add(new PowerCommandFailed(Id, vm, State.Operation.Command(), "no guest agent: ACPI system_powerdown instead", now));
                    Send(vm, acpiOnly ? Protocol.Qmp.QmpCommands.SystemPowerdown : State.Operation.Command());
                }
            }
            EndIfDone();
        }

        private void Send(string vmId, string command) =>
            Add(new PowerCommandRequested(Id, vmId, command, now + State.Timeout, now));

        public void OnRefused(PowerVmTrack v, PowerInput.CommandRefused r)
        {
            if (!v.FallbackSent && State.FallbackAllowed)
            {
                Add(new PowerCommandFailed(Id, v.VmId, r.Command, r.Reason, now));
                Send(v.VmId, Protocol.Qmp.QmpCommands.SystemPowerdown);
                return;
            }
            Add(new PowerVmFailed(Id, v.VmId, $"{r.Command} refused: {r.Reason}", now));
            EndIfDone();
        }

        public void OnStatus(PowerVmTrack v, PowerInput.StatusObserved s)
        {
            if (s.Error is not null && s.MonitorGone && State.Operation.ConfirmedByExit())
            {
                Confirm(v, $"QEMU exited (monitor gone: {s.Error})");
                return;
            }
            if (s.Status is { } st && st == State.Operation.TargetRunState())
            {
                Confirm(v, "query-status: " + st);
                return;
            }
            if (s.Final && v.Step == PowerVmStep.FinalCheck) Unconfirmed(v, s.Status is { } seen ? "query-status: " + seen : "query-status failed: " + s.Error);
        }

        public void Confirm(PowerVmTrack v, string evidence)
        {
            if (State.Operation == PowerOperation.Resume) Add(new PowerResyncRequested(Id, v.VmId, evidence, now));
            else
            {
                Add(new PowerVmSucceeded(Id, v.VmId, v.FallbackSent ? evidence + " after system_powerdown" : evidence, now));
                EndIfDone();
            }
        }

        private void Unconfirmed(PowerVmTrack v, string seen)
        {
            var what = State.Operation == PowerOperation.Reboot ? "no RESET event" : "not confirmed";
            var within = State.Timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
            if (!v.FallbackSent && State.FallbackAllowed)
            {
                Add(new PowerCommandFailed(Id, v.VmId, v.Command!, $"{what} within the {within} s grace ({seen})", now));
                Send(v.VmId, Protocol.Qmp.QmpCommands.SystemPowerdown);
                return;
            }
            // A journaled command is never re-sent after a restart (it may have been carried out): say so.
            var restarted = v.InterruptedByRestart ? "; the orchestrator restarted meanwhile, so it may never have reached the VM" : "";
            Add(new PowerVmFailed(Id, v.VmId, $"{v.Command}: {what} within {within} s ({seen}){restarted}", now));
            EndIfDone();
        }

        public void Abort(string reason)
        {
            foreach (var v in State.Tracks.Where(v => !v.IsFinal).ToList())
            {
                if (v.Step is PowerVmStep.Pending or PowerVmStep.Checking) Add(new PowerVmSkipped(Id, v.VmId, "aborted: " + reason, now));
                else Add(new PowerVmFailed(Id, v.VmId, $"aborted before confirmation ({v.Command} was sent; state unknown): {reason}", now));
            }
            Add(new PowerSagaEnded(Id, SagaOutcome.Aborted, reason, now));
        }

        public void EndIfDone()
        {
            if (State.Phase is PowerPhase.Created or PowerPhase.Ended || !State.Tracks.All(v => v.IsFinal)) return;
            var failed = State.Tracks.Where(v => v.Step == PowerVmStep.Failed).Select(v => $"{v.VmId}: {v.Reason}").ToList();
            var skipped = State.Tracks.Where(v => v.Step == PowerVmStep.Skipped).Select(v => $"{v.VmId}: {v.Reason}").ToList();
            if (failed.Count > 0) Add(new PowerSagaEnded(Id, SagaOutcome.Failed, string.Join("; ", failed), now));
            else Add(new PowerSagaEnded(Id, SagaOutcome.Completed, skipped.Count == 0 ? null : "skipped " + string.Join("; ", skipped), now));
        }
    }
}
