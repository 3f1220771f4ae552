using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Persistence;
using QgaOrchestrator.Core.Snapshots;
using QgaOrchestrator.Core.Telemetry;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol.Qga;

namespace QgaOrchestrator.Core.Sagas.Internal;

/// <summary>
/// INTERNAL API. The thin persistent shell around <see cref="FreezeSnapshotThawState"/>:
/// input → Decide → Apply → journal → act on each intent once it is journaled. Nothing is sent to a
/// VM before the event naming it is in the journal; a persist failure stops the actor (the manager
/// restarts it and recovery thaws whatever may be frozen).
/// Confirmations (facts: VmFrozen, SnapshotTaken, VmThawed…) cause no side effect and recovery does not need
/// them (it thaws every VM with a FreezeRequested and no journaled VmThawed), so they are not written on
/// their own: they ride in the next intent's write, or a flush timer writes them. Each write is ONE row
/// (<see cref="JournalBatch"/>), whatever the group size.
///
///   recovering ──RecoveryCompleted──▶ running (Decide(Recovered) thaws maybe-frozen VMs) ──SagaEnded──▶ ended (queries only)
/// Timers: "deadline" (single), "thaw-{vm}" (backoff per VM), "flush" (facts not yet journaled).
/// </summary>
internal sealed class FreezeSnapshotThawActor : ReceivePersistentActor, IWithTimers
{
    private const string DeadlineTimer = "deadline";
    private const string FlushTimer = "flush";
    private static readonly TimeSpan FlushDelay = TimeSpan.FromMilliseconds(200);
    private readonly List<IJournalEvent> _unjournaled = [];
    private readonly string _sagaId;
    private readonly IActorRef _fleet;
    private readonly FreezeSnapshotThaw.Settings _settings;
    private readonly IActorRef? _notify;
    private readonly ILoggingAdapter _log;
    private IActorRef? _replyTo;
    private IActorRef? _snapshotter;

    public FreezeSnapshotThawActor(string sagaId, IActorRef fleet, FreezeSnapshotThaw.Settings settings, IActorRef? notify)
    {
        _sagaId = sagaId;
        _fleet = fleet;
        _settings = settings;
        _notify = notify;
        _log = Context.GetLogger();
        if (settings.JournalPluginId is { } j) JournalPluginId = j;

        Recover<JournalBatch>(b => { foreach (var e in b.Events) State = State.Apply((IFreezeSagaEvent)e); });
        Recover<IFreezeSagaEvent>(e => State = State.Apply(e));
        Recover<RecoveryCompleted>(_ => OnRecovered());

        Command<FreezeSnapshotThaw.Start>(OnStart);
        Command<Vm.Executed>(OnExecuted);
        Command<FleetManager.UnknownVm>(OnUnknownVm);
        Command<SnapshotResult>(r => r.SagaId == _sagaId, r => Handle(new SagaInput.SnapshotObserved(r.VmId, r.Error)));
        Command<FreezeSnapshotThaw.SnapshotDone>(d =>
        {
            if (State.Mode == SnapshotMode.External) Handle(new SagaInput.SnapshotObserved(null, d.Error));
        });
        Command<FreezeSnapshotThaw.Abort>(a => Handle(new SagaInput.AbortRequested(a.Reason)));
        Command<FreezeSnapshotThaw.GetState>(g => g.ReplyTo.Tell(new FreezeSnapshotThaw.CurrentState(_sagaId, State)));
        Command<DeadlineTick>(_ => Handle(SagaInput.DeadlineReached.Instance));
        Command<ThawRetryTick>(t => Handle(new SagaInput.ThawRetryDue(t.VmId)));
        Command<FlushTick>(_ => Flush());
    }

    public override string PersistenceId => FreezeSnapshotThaw.PersistenceIdOf(_sagaId);

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PostStop()
    {
        QgaMetrics.FrozenChanged(-State.MaybeFrozenCount); // a restarted incarnation adds them back on recovery
        base.PostStop();
    }

    internal FreezeSnapshotThawState State { get; private set; } = FreezeSnapshotThawState.Empty;

    private DateTimeOffset Now => _settings.Clock.GetUtcNow();

    private void OnRecovered()
    {
        QgaMetrics.FrozenChanged(State.MaybeFrozenCount); // this process's gauge starts at 0

        if (State.Phase == SagaPhase.Created || State.IsEnded) return;
        _log.Warning("Saga {SagaId} recovered in phase {Phase} with {MaybeFrozen} maybe-frozen VMs: compensating",
            _sagaId, State.Phase, State.MaybeFrozen.Count());
        Handle(SagaInput.Recovered.Instance);
    }

    private void OnStart(FreezeSnapshotThaw.Start s)
    {
        _replyTo = s.ReplyTo ?? _replyTo;
        if (State.Phase != SagaPhase.Created)
        {
            s.ReplyTo?.Tell(new FreezeSnapshotThaw.Started(_sagaId)); // idempotent restart by the manager
            if (State.IsEnded) s.ReplyTo?.Tell(new FreezeSnapshotThaw.Finished(_sagaId, State.Outcome!.Value, State.EndReason, State));
            return;
        }
        Handle(new SagaInput.Begin(_sagaId, s.VmIds, s.Mode, s.Name, s.Deadline ?? _settings.DefaultDeadline, s.Policy,
            s.Mountpoints ?? new Dictionary<string, IReadOnlyList<string>>(), s.NoFreezableFs ?? [],
            s.Disks ?? new Dictionary<string, IReadOnlyList<string>>()));
    }

    private void Handle(SagaInput input)
    {
        var (events, next) = State.DecideAndApply(input, Now);
        if (events.Count == 0) return;
        // State is applied now, so the next reply is decided against it; effects wait for the write.
        // PersistAsync does not stash: replies arriving meanwhile are decided while the write runs.
        var maybeFrozen = State.MaybeFrozenCount;
        State = next;
        QgaMetrics.FrozenChanged(State.MaybeFrozenCount - maybeFrozen);
        _unjournaled.AddRange(events);
        var intent = false;
        foreach (var e in events)
        {
            if (IsIntent(e)) intent = true;
            else Act(e); // facts only log or arm a retry timer: nothing leaves the actor
        }
        if (intent) Flush();
        else if (!Timers.IsTimerActive(FlushTimer)) Timers.StartSingleTimer(FlushTimer, FlushTick.Instance, FlushDelay);
    }

    /// <summary>Events whose side effect must wait until they are journaled.</summary>
    private static bool IsIntent(IFreezeSagaEvent e) =>
        e is SagaStarted or StatusRequested or FreezeRequested or SnapshotRequested or CompensationStarted or ThawRequested or SagaEnded;

    private void Flush()
    {
        Timers.Cancel(FlushTimer);
        if (_unjournaled.Count == 0) return;
        var batch = new JournalBatch([.. _unjournaled]);
        _unjournaled.Clear();
        PersistAsync(batch, b =>
        {
            foreach (var e in b.Events)
                if (e is IFreezeSagaEvent fe && IsIntent(fe)) Act(fe);
        });
    }

    /// <summary>Side effects of an event that is already journaled.</summary>
    private void Act(IFreezeSagaEvent e)
    {
        Context.System.EventStream.Publish(new FreezeSnapshotThaw.Progressed(_sagaId, e, State));
        switch (e)
        {
            case SagaStarted s:
                _log.Info("Saga {SagaId} started: {Count} VMs, mode {Mode}, deadline {DeadlineAt}", _sagaId, s.VmIds.Count, s.Mode, s.DeadlineAt);
                _replyTo?.Tell(new FreezeSnapshotThaw.Started(_sagaId));
                ArmDeadline();
                PrepareSnapshot();
                break;
            case StatusRequested r:
                Send(r.VmId, QgaCommands.GuestFsfreezeStatus, null, $"status:{r.VmId}");
                break;
            case FreezeRequested f:
                if (State.Mountpoints.TryGetValue(f.VmId, out var mps) && mps.Count > 0)
                    Send(f.VmId, QgaCommands.GuestFsfreezeFreezeList,
                        JsonSerializer.SerializeToElement(new GuestFsfreezeFreezeListArguments { Mountpoints = mps }, QgaCommands.GuestFsfreezeFreezeList.ArgumentsType),
                        $"freeze:{f.VmId}");
                else Send(f.VmId, QgaCommands.GuestFsfreezeFreeze, null, $"freeze:{f.VmId}");
                break;
            case VmFrozen f:
                if (_log.IsDebugEnabled) _log.Debug("Saga {SagaId} {VmId} frozen ({Count} filesystems)", _sagaId, f.VmId, f.Count);
                break;
            case VmFreezeFailed f:
                _log.Warning("Saga {SagaId} {VmId} freeze failed: {Reason}", _sagaId, f.VmId, f.Reason);
                break;
            case SnapshotRequested:
                StartSnapshot();
                break;
            case CompensationStarted c:
                _log.Warning("Saga {SagaId} compensating ({Outcome}): {Reason}", _sagaId, c.Outcome, c.Reason);
                Timers.Cancel(DeadlineTimer);
                StopSnapshotter();
                break;
            case ThawRequested t:
                Timers.Cancel(ThawKey(t.VmId));
                Send(t.VmId, QgaCommands.GuestFsfreezeThaw, null, $"thaw:{t.VmId}:{t.Attempt}");
                break;
            case VmThawFailed f:
                var delay = _settings.ThawBackoff(f.Attempt);
                _log.Warning("Saga {SagaId} {VmId} thaw attempt {Attempt} failed: {Reason}; retry in {Delay}", _sagaId, f.VmId, f.Attempt, f.Reason, delay);
                Timers.StartSingleTimer(ThawKey(f.VmId), new ThawRetryTick(f.VmId), delay);
                break;
            case VmGone g:
                _log.Warning("Saga {SagaId} {VmId} gone, nothing left to thaw: {Reason}", _sagaId, g.VmId, g.Reason);
                break;
            case SagaEnded end:
                Timers.CancelAll();
                StopSnapshotter();
                _log.Info("Saga {SagaId} ended {Outcome}: {Reason}; group window {Window}", _sagaId, end.Outcome, end.Reason, State.GroupWindow);
                RecordEnd(end.Outcome);
                var finished = new FreezeSnapshotThaw.Finished(_sagaId, end.Outcome, end.Reason, State);
                _replyTo?.Tell(finished);
                _notify?.Tell(finished);
                break;
        }
    }

    private void RecordEnd(SagaOutcome outcome)
    {
        QgaMetrics.SagaEnded(MetricsKind, outcome.ToString());
        foreach (var v in State.Tracks)
            if (v.FreezeWindow is { } w) QgaMetrics.VmFreezeWindow(v.VmId, w);
        if (State.GroupWindow is { } g) QgaMetrics.GroupFreezeWindow(MetricsKind, g);
    }

    private const string MetricsKind = "freeze-snapshot-thaw";

    private void ArmDeadline()
    {
        var left = State.DeadlineAt - Now;
        Timers.StartSingleTimer(DeadlineTimer, DeadlineTick.Instance, left > TimeSpan.Zero ? left : TimeSpan.Zero);
    }

    private ISnapshotProvider? Provider => State.Mode switch
    {
        SnapshotMode.Qmp => _settings.Qmp,
        SnapshotMode.Command => _settings.Command,
        _ => null,
    };

    /// <summary>
    /// A provider that <see cref="ISnapshotProvider.Prepares"/> gets its child when the saga starts, to encode its
    /// requests for the whole group while the guests' status is checked, outside the freeze window. The child sends
    /// nothing before <see cref="SnapshotGo"/> (sent by StartSnapshot, i.e. once SnapshotRequested is journaled).
    /// </summary>
    private void PrepareSnapshot()
    {
        if (_snapshotter is not null || State.IsEnded || Provider is not { Prepares: true } provider) return;
        _snapshotter = Context.ActorOf(provider.Props(new SnapshotRequest(_sagaId, State.Name, State.Order, State.Disks, WaitForGo: true), _fleet, Self), "snapshot");
    }

    private void StartSnapshot()
    {
        var targets = State.SnapshotTargets;
        if (_snapshotter is not null)
        {
            _snapshotter.Tell(new SnapshotGo(_sagaId, targets));
            return;
        }
        if (State.Mode == SnapshotMode.External)
        {
            var msg = new FreezeSnapshotThaw.AllFrozen(_sagaId, targets, State.DeadlineAt);
            _replyTo?.Tell(msg);
            _notify?.Tell(msg);
            return;
        }
        var provider = Provider;
        if (provider is null)
        {
            Self.Tell(new SnapshotResult(_sagaId, null, $"no {State.Mode} snapshot provider configured"));
            return;
        }
        var request = new SnapshotRequest(_sagaId, State.Name, targets, State.Disks);
        _snapshotter = Context.ActorOf(provider.Props(request, _fleet, Self), "snapshot");
    }

    private void StopSnapshotter()
    {
        if (_snapshotter is null) return;
        Context.Stop(_snapshotter);
        _snapshotter = null;
    }

    private void Send(string vmId, Protocol.QgaCommandDescriptor command, JsonElement? args, string requestId) =>
        _fleet.Tell(new Vm.Execute(vmId, command, args, requestId, Self, _settings.RequestTimeout));

    private void OnExecuted(Vm.Executed r)
    {
        var error = r.Error?.ToString() ?? (r.Failure is { } f ? $"{f.Kind}: {f.Reason}" : null);
        var id = r.RequestId; // "status:{vm}", "freeze:{vm}", "thaw:{vm}:{attempt}" (read without splitting: one per reply)
        if (id.StartsWith("status:", StringComparison.Ordinal))
        {
            string? status = null;
            if (r.Return is { ValueKind: JsonValueKind.String } s) status = s.GetString();
            Handle(new SagaInput.StatusObserved(r.VmId, status, error is null ? null : "no agent / paused: " + error));
        }
        else if (id.StartsWith("freeze:", StringComparison.Ordinal))
            Handle(new SagaInput.FreezeObserved(r.VmId, r.Return is { ValueKind: JsonValueKind.Number } n ? n.GetInt64() : null, error ?? (r.Return is null ? "no count returned" : null)));
        else if (id.StartsWith("thaw:", StringComparison.Ordinal)
                 && int.TryParse(id.AsSpan(id.LastIndexOf(':') + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var attempt)
                 && State.Vms.TryGetValue(r.VmId, out var v) && v.ThawAttempts == attempt) // drop stale replies of older attempts
            Handle(new SagaInput.ThawObserved(r.VmId, r.Return is { ValueKind: JsonValueKind.Number } c ? c.GetInt64() : 0, error));
    }

    private void OnUnknownVm(FleetManager.UnknownVm u)
    {
        var kind = u.RequestId?.Split(':')[0];
        if (kind == "status") Handle(new SagaInput.StatusObserved(u.VmId, null, "unknown VM: " + u.Reason, Gone: true));
        else if (kind == "freeze") Handle(new SagaInput.FreezeObserved(u.VmId, null, "unknown VM: " + u.Reason));
        else if (kind == "thaw") Handle(new SagaInput.ThawObserved(u.VmId, null, u.Reason, Gone: true));
    }

    private static string ThawKey(string vmId) => "thaw-" + vmId;

    private sealed record DeadlineTick
    {
        public static readonly DeadlineTick Instance = new();
        private DeadlineTick() { }
    }

    private sealed record ThawRetryTick(string VmId);

    private sealed record FlushTick
    {
        public static readonly FlushTick Instance = new();
        private FlushTick() { }
    }
}
