using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol.Qga;
using QgaOrchestrator.Protocol.Qmp;

namespace QgaOrchestrator.Core.Sagas.Internal;

/// <summary>
/// INTERNAL API. The persistent shell around <see cref="PowerSagaState"/>: input → Decide → Apply →
/// PersistAllAsync(events) → act on each event once it is journaled. No power command leaves before
/// its <see cref="PowerCommandRequested"/> is in the journal; a persist failure stops the actor (the
/// manager restarts it and recovery resumes waiting, never re-sending a command).
///
///   recovering ──RecoveryCompleted──▶ running (PowerSagaRecovered: re-subscribe, re-check, re-poll) ──PowerSagaEnded──▶ ended (queries only)
/// Timers: "deadline-{vm}" (confirmation due), "poll" (query-status of VMs awaiting confirmation).
/// The saga subscribes to each VM's QMP events before it sends anything to it.
/// </summary>
internal sealed class PowerSagaActor : ReceivePersistentActor, IWithTimers
{
    private const string PollTimer = "poll";
    private readonly string _sagaId;
    private readonly IActorRef _fleet;
    private readonly PowerSaga.Settings _settings;
    private readonly IActorRef? _notify;
    private readonly ILoggingAdapter _log;
    private IActorRef? _replyTo;

    public PowerSagaActor(string sagaId, IActorRef fleet, PowerSaga.Settings settings, IActorRef? notify)
    {
        _sagaId = sagaId;
        _fleet = fleet;
        _settings = settings;
        _notify = notify;
        _log = Context.GetLogger();
        if (settings.JournalPluginId is { } j) JournalPluginId = j;

        Recover<IPowerSagaEvent>(e => State = State.Apply(e));
        Recover<RecoveryCompleted>(_ =>
        {
            if (State.Phase is PowerPhase.Checking or PowerPhase.Running) Handle(PowerInput.Recovered.Instance);
        });

        Command<PowerSaga.Start>(OnStart);
        Command<Vm.Executed>(OnExecuted);
        Command<Vm.QmpExecuted>(OnQmpExecuted);
        Command<Vm.QmpEvent>(ev => Handle(new PowerInput.EventObserved(ev.VmId, ev.Name, PortOpen(ev.Data))));
        Command<FleetManager.UnknownVm>(u => Handle(new PowerInput.Gone(u.VmId, u.Reason)));
        Command<PowerSaga.Abort>(a => Handle(new PowerInput.AbortRequested(a.Reason)));
        Command<PowerSaga.GetState>(g => g.ReplyTo.Tell(new PowerSaga.CurrentState(_sagaId, State)));
        Command<DeadlineTick>(t => Handle(new PowerInput.DeadlineReached(t.VmId)));
        Command<PollTick>(_ => PollAwaiting());
    }

    public override string PersistenceId => PowerSaga.PersistenceIdOf(_sagaId);

    public ITimerScheduler Timers { get; set; } = null!;

    internal PowerSagaState State { get; private set; } = PowerSagaState.Empty;

    private DateTimeOffset Now => _settings.Clock.GetUtcNow();

    private void OnStart(PowerSaga.Start s)
    {
        _replyTo = s.ReplyTo ?? _replyTo;
        if (State.Phase != PowerPhase.Created)
        {
            s.ReplyTo?.Tell(new PowerSaga.Started(_sagaId)); // idempotent restart by the manager
            if (State.IsEnded) s.ReplyTo?.Tell(new PowerSaga.Finished(_sagaId, State.Outcome!.Value, State.EndReason, State));
            return;
        }
        Handle(new PowerInput.Begin(_sagaId, s.VmIds, s.Operation, s.Timeout ?? s.Operation.DefaultTimeout(), s.Fallback, s.Policy));
    }

    private void Handle(PowerInput input)
    {
        var events = State.Decide(input, Now);
        if (events.Count == 0) return;
        foreach (var e in events) State = State.Apply(e);
        PersistAllAsync(events, Act);
    }

    /// <summary>Side effects of an event that is already journaled.</summary>
    private void Act(IPowerSagaEvent e)
    {
        switch (e)
        {
            case PowerSagaStarted s:
                _log.Info("Power saga {SagaId} started: {Operation} of {Count} VMs, timeout {Timeout}", _sagaId, s.Operation, s.VmIds.Count, s.Timeout);
                foreach (var vm in s.VmIds) _fleet.Tell(new Vm.SubscribeEvents(vm, Self));
                Timers.StartPeriodicTimer(PollTimer, PollTick.Instance, _settings.PollInterval);
                _replyTo?.Tell(new PowerSaga.Started(_sagaId));
                break;
            case PowerChecksRequested c:
                foreach (var check in c.Checks) SendCheck(c.VmId, check);
                break;
            case PowerCommandRequested r:
                SendCommand(r.VmId, r.Command);
                ArmDeadline(r.VmId, r.DeadlineAt);
                break;
            case PowerCommandFailed f:
                _log.Warning("Power saga {SagaId} {VmId} {Command} refused: {Reason}", _sagaId, f.VmId, f.Command, f.Reason);
                break;
            case PowerResyncRequested r:
                Timers.Cancel(DeadlineKey(r.VmId));
                Resync(r.VmId);
                break;
            case PowerFinalCheckRequested f:
                QueryStatus(f.VmId, "final");
                break;
            case PowerVmSucceeded s:
                Timers.Cancel(DeadlineKey(s.VmId));
                _log.Info("Power saga {SagaId} {VmId} done: {Evidence}", _sagaId, s.VmId, s.Evidence);
                break;
            case PowerVmFailed f:
                Timers.Cancel(DeadlineKey(f.VmId));
                _log.Warning("Power saga {SagaId} {VmId} failed: {Reason}", _sagaId, f.VmId, f.Reason);
                break;
            case PowerVmSkipped k:
                _log.Info("Power saga {SagaId} {VmId} skipped: {Reason}", _sagaId, k.VmId, k.Reason);
                break;
            case PowerSagaRecovered:
                Resume();
                break;
            case PowerSagaEnded end:
                Timers.CancelAll();
                foreach (var vm in State.Order) _fleet.Tell(new Vm.UnsubscribeEvents(vm, Self));
                _log.Info("Power saga {SagaId} ended {Outcome}: {Reason}", _sagaId, end.Outcome, end.Reason);
                var finished = new PowerSaga.Finished(_sagaId, end.Outcome, end.Reason, State);
                _replyTo?.Tell(finished);
                _notify?.Tell(finished);
                break;
        }
    }

    /// <summary>After a restart: what was in flight is lost; re-send the reads, never a command.</summary>
    private void Resume()
    {
        var open = State.Tracks.Where(v => !v.IsFinal).ToList();
        _log.Warning("Power saga {SagaId} recovered with {Open} unfinished VMs: resuming checks and confirmation", _sagaId, open.Count);
        foreach (var v in open) _fleet.Tell(new Vm.SubscribeEvents(v.VmId, Self));
        Timers.StartPeriodicTimer(PollTimer, PollTick.Instance, _settings.PollInterval);
        foreach (var v in open)
        {
            switch (v.Step)
            {
                case PowerVmStep.Checking:
                    foreach (var check in v.ChecksPending) SendCheck(v.VmId, check);
                    break;
                case PowerVmStep.Sent:
                    ArmDeadline(v.VmId, v.DeadlineAt ?? Now);
                    QueryStatus(v.VmId, "poll");
                    break;
                case PowerVmStep.FinalCheck:
                    QueryStatus(v.VmId, "final");
                    break;
                case PowerVmStep.Resyncing:
                    Resync(v.VmId);
                    break;
            }
        }
    }

    private void ArmDeadline(string vmId, DateTimeOffset at)
    {
        var left = at - Now;
        Timers.StartSingleTimer(DeadlineKey(vmId), new DeadlineTick(vmId), left > TimeSpan.Zero ? left : TimeSpan.Zero);
    }

    private void PollAwaiting()
    {
        foreach (var v in State.Tracks.Where(v => v.Step == PowerVmStep.Sent)) QueryStatus(v.VmId, "poll");
    }

    // ---- sending ----------------------------------------------------------------------------

    private void SendCheck(string vmId, string check)
    {
        switch (check)
        {
            case PowerOperations.StatusCheck:
                QueryStatus(vmId, "check");
                break;
            case PowerOperations.MachineCheck:
                _fleet.Tell(new Vm.ExecuteQmp(vmId, QmpCommands.QueryCurrentMachine, null, $"check:{vmId}:{check}", Self, _settings.RequestTimeout));
                break;
            case PowerOperations.AgentCheck:
                _fleet.Tell(new Vm.Execute(vmId, QgaCommands.GuestPing, null, $"check:{vmId}:{check}", Self, _settings.RequestTimeout));
                break;
        }
    }

    private void QueryStatus(string vmId, string purpose) =>
        _fleet.Tell(new Vm.ExecuteQmp(vmId, QmpCommands.QueryStatus, null,
            purpose == "check" ? $"check:{vmId}:{PowerOperations.StatusCheck}" : $"{purpose}:{vmId}", Self, _settings.RequestTimeout));

    private void SendCommand(string vmId, string command)
    {
        var id = $"cmd:{vmId}:{command}";
        if (PowerOperations.IsQmpCommand(command))
        {
            _fleet.Tell(new Vm.ExecuteQmp(vmId, command, null, id, Self, _settings.RequestTimeout));
            return;
        }
        // The channel's own deadline is the saga's: a late or missing reply is QEMU's to confirm.
        var timeout = State.Timeout + _settings.RequestTimeout;
        if (State.Operation.ShutdownModeArgument() is { } mode)
            _fleet.Tell(VmRequests.Create(vmId, QgaCommands.GuestShutdown, new GuestShutdownArguments { Mode = mode }, id, Self, timeout));
        else
            _fleet.Tell(new Vm.Execute(vmId, SuspendCommand(State.Operation), null, id, Self, timeout));
    }

    private void Resync(string vmId)
    {
        _fleet.Tell(new Vm.ResyncGuest(vmId, $"saga {_sagaId}: guest woke up"));
        _fleet.Tell(new Vm.Execute(vmId, QgaCommands.GuestPing, null, $"ping:{vmId}", Self, _settings.RequestTimeout));
    }

    // ---- replies ----------------------------------------------------------------------------

    private void OnExecuted(Vm.Executed r)
    {
        var parts = r.RequestId.Split(':', 3);
        var error = r.Error?.ToString() ?? (r.Failure is { } f ? $"{f.Kind}: {f.Reason}" : null);
        switch (parts[0])
        {
            case "check" when parts.Length == 3:
                Handle(new PowerInput.CheckObserved(r.VmId, parts[2], error is null ? "ok" : null, error));
                break;
            case "ping":
                Handle(new PowerInput.AgentObserved(r.VmId, error));
                break;
            case "cmd" when parts.Length == 3:
                OnCommandReply(r.VmId, parts[2], r.Error?.ToString(), r.Failure);
                break;
        }
    }

    private void OnQmpExecuted(Vm.QmpExecuted r)
    {
        var parts = r.RequestId.Split(':', 3);
        var error = r.Error?.ToString() ?? (r.Failure is { } f ? $"{f.Kind}: {f.Reason}" : null);
        switch (parts[0])
        {
            case "check" when parts.Length == 3 && parts[2] == PowerOperations.StatusCheck:
                Handle(new PowerInput.CheckObserved(r.VmId, parts[2], error is null ? RunState(r.Return) : null, error ?? (RunState(r.Return) is null ? "no status in reply" : null)));
                break;
            case "check" when parts.Length == 3 && parts[2] == PowerOperations.MachineCheck:
                var wakeup = WakeupSupport(r.Return);
                Handle(new PowerInput.CheckObserved(r.VmId, parts[2], error is null && wakeup is { } w ? (w ? "true" : "false") : null,
                    error ?? (wakeup is null ? "no wakeup-suspend-support in reply" : null)));
                break;
            case "poll" or "final":
                var monitorGone = r.Failure is { Kind: Vm.FailureKind.Unreachable };
                Handle(new PowerInput.StatusObserved(r.VmId, error is null ? RunState(r.Return) : null, error, monitorGone, parts[0] == "final"));
                break;
            case "cmd" when parts.Length == 3:
                OnCommandReply(r.VmId, parts[2], r.Error?.ToString(), r.Failure);
                break;
        }
    }

    /// <summary>
    /// Only a definite "no" counts (an error reply, or a request never sent). Success means the channel
    /// completed it (event or close), a timeout or broken channel means nothing: QEMU confirms either way.
    /// </summary>
    private void OnCommandReply(string vmId, string command, string? error, Vm.Failure? failure)
    {
        if (error is not null) Handle(new PowerInput.CommandRefused(vmId, command, error));
        else if (failure is { Kind: Vm.FailureKind.Unreachable or Vm.FailureKind.Rejected })
            Handle(new PowerInput.CommandRefused(vmId, command, $"not sent: {failure.Kind}: {failure.Reason}"));
        else if (failure is null) QueryStatus(vmId, "poll");
    }

    private static Protocol.QgaCommandDescriptor SuspendCommand(PowerOperation op) => op switch
    {
        PowerOperation.SuspendRam => QgaCommands.GuestSuspendRam,
        PowerOperation.SuspendDisk => QgaCommands.GuestSuspendDisk,
        _ => QgaCommands.GuestSuspendHybrid,
    };

    private static string? RunState(JsonElement? ret) =>
        ret is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;

    private static bool? WakeupSupport(JsonElement? ret) =>
        ret is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty("wakeup-suspend-support", out var w)
            && w.ValueKind is JsonValueKind.True or JsonValueKind.False ? w.GetBoolean() : null;

    private static bool? PortOpen(JsonElement? data) =>
        data is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty("open", out var p) && p.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? p.GetBoolean() : null;

    private static string DeadlineKey(string vmId) => "deadline-" + vmId;

    private sealed record DeadlineTick(string VmId);

    private sealed record PollTick
    {
        public static readonly PollTick Instance = new();
        private PollTick() { }
    }
}
