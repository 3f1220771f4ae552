using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Core.Sagas.Internal;

/// <summary>
/// INTERNAL API. Persistent index of sagas (of every kind) + parent of the saga actors.
///   Start* ─▶ GetConfigs (resolve ids/labels, disks) ─▶ persist SagaRegistered(kind) ─▶ child saga-{id} ! Start
///   RecoveryCompleted ─▶ one child per unfinished saga (its own recovery compensates / resumes)
///   child Terminated while unfinished ─▶ "restart-{id}" timer ─▶ child again
/// </summary>
internal sealed class SagaManagerActor : ReceivePersistentActor, IWithTimers
{
    private readonly IActorRef _fleet;
    private readonly SagaManager.Settings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Queue<PendingStart> _resolving = new();
    private ImmutableDictionary<string, SagaManager.SagaSummary> _index = ImmutableDictionary<string, SagaManager.SagaSummary>.Empty;

    public SagaManagerActor(IActorRef fleet, SagaManager.Settings settings)
    {
        _fleet = fleet;
        _settings = settings;
        if (settings.Saga.JournalPluginId is { } j) JournalPluginId = j;

        Recover<SagaManager.IIndexEvent>(Apply);
        Recover<RecoveryCompleted>(_ =>
        {
            foreach (var s in _index.Values.Where(s => s.Outcome is null))
            {
                _log.Info("Resuming unfinished saga {SagaId}", s.SagaId);
                Child(s.SagaId);
            }
        });

        Command<SagaManager.StartFreeze>(s => OnStart(new PendingStart(s.SagaId, SagaKind.FreezeSnapshotThaw, s.VmIds, s.LabelSelector, s.ReplyTo,
            (ids, byId) => new FreezeSnapshotThaw.Start(s.SagaId, ids, s.Mode, s.Name, s.Deadline, s.Policy, s.Mountpoints, s.NoFreezableFs,
                ids.Where(byId.ContainsKey).ToDictionary(id => id, id => byId[id].Disks), s.ReplyTo))));
        Command<SagaManager.StartSuspend>(s => OnStart(new PendingStart(s.SagaId, SagaKind.Suspend, s.VmIds, s.LabelSelector, s.ReplyTo,
            (ids, _) => new PowerSaga.Start(s.SagaId, ids, PowerOperations.Of(s.Mode), s.Timeout, false, s.Policy, s.ReplyTo), s.Timeout)));
        Command<SagaManager.StartResume>(s => OnStart(new PendingStart(s.SagaId, SagaKind.Resume, s.VmIds, s.LabelSelector, s.ReplyTo,
            (ids, _) => new PowerSaga.Start(s.SagaId, ids, PowerOperation.Resume, s.Timeout, false, s.Policy, s.ReplyTo), s.Timeout)));
        Command<SagaManager.StartShutdown>(s =>
        {
            if (s.Fallback && !PowerOperations.Of(s.Mode).AllowsFallback())
            {
                s.ReplyTo.Tell(new SagaManager.Rejected(s.SagaId, "the system_powerdown fallback applies to powerdown and halt only, not reboot"));
                return;
            }
            OnStart(new PendingStart(s.SagaId, SagaKind.Shutdown, s.VmIds, s.LabelSelector, s.ReplyTo,
                (ids, _) => new PowerSaga.Start(s.SagaId, ids, PowerOperations.Of(s.Mode), s.Grace, s.Fallback, s.Policy, s.ReplyTo), s.Grace));
        });
        Command<FleetManager.Configs>(OnConfigs);
        Command<FreezeSnapshotThaw.Finished>(f => OnFinished(f.SagaId, f.Outcome));
        Command<PowerSaga.Finished>(f => OnFinished(f.SagaId, f.Outcome));
        Command<FreezeSnapshotThaw.AllFrozen>(_ => { }); // the caller got it directly
        Command<SagaManager.ListSagas>(l => l.ReplyTo.Tell(new SagaManager.SagaList(_index.Values.OrderBy(s => s.RegisteredAt).ToList())));
        Command<SagaManager.GetSaga>(g => WithSaga(g.SagaId, g.ReplyTo, (c, kind) => c.Tell(kind == SagaKind.FreezeSnapshotThaw
            ? new FreezeSnapshotThaw.GetState(g.SagaId, g.ReplyTo)
            : new PowerSaga.GetState(g.SagaId, g.ReplyTo))));
        Command<SagaManager.SnapshotDone>(d => WithSaga(d.SagaId, Sender, (c, kind) =>
        {
            if (kind == SagaKind.FreezeSnapshotThaw) c.Tell(new FreezeSnapshotThaw.SnapshotDone(d.SagaId, d.Error));
            else Sender.Tell(new SagaManager.Rejected(d.SagaId, $"a {kind} saga takes no SnapshotDone"));
        }));
        Command<SagaManager.Abort>(a => WithSaga(a.SagaId, Sender, (c, kind) => c.Tell(kind == SagaKind.FreezeSnapshotThaw
            ? new FreezeSnapshotThaw.Abort(a.SagaId, a.Reason)
            : new PowerSaga.Abort(a.SagaId, a.Reason))));
        Command<ChildStopped>(c =>
        {
            if (_index.TryGetValue(c.SagaId, out var s) && s.Outcome is null)
            {
                _log.Warning("Saga {SagaId} stopped unfinished; restarting in {Delay}", c.SagaId, _settings.RestartBackoff);
                Timers.StartSingleTimer("restart-" + c.SagaId, new RestartSaga(c.SagaId), _settings.RestartBackoff);
            }
        });
        Command<RestartSaga>(r => Child(r.SagaId));
    }

    public override string PersistenceId => "saga-manager";

    public ITimerScheduler Timers { get; set; } = null!;

    private void Apply(SagaManager.IIndexEvent e) => _index = e switch
    {
        SagaManager.SagaRegistered r => _index.SetItem(r.SagaId, new SagaManager.SagaSummary(r.SagaId, r.At, null, r.Kind)),
        SagaManager.SagaFinished f when _index.TryGetValue(f.SagaId, out var s) => _index.SetItem(f.SagaId, s with { Outcome = f.Outcome }),
        _ => _index,
    };

    private void OnFinished(string sagaId, SagaOutcome outcome)
    {
        if (_index.TryGetValue(sagaId, out var s) && s.Outcome is null)
            Persist(new SagaManager.SagaFinished(sagaId, outcome, DateTimeOffset.UtcNow), Apply);
    }

    private void OnStart(PendingStart s)
    {
        if (_index.ContainsKey(s.SagaId) || _resolving.Any(r => r.SagaId == s.SagaId))
        {
            s.ReplyTo.Tell(new SagaManager.Rejected(s.SagaId, "saga id already used"));
            return;
        }
        if (!ActorPath.IsValidPathElement("saga-" + s.SagaId))
        {
            s.ReplyTo.Tell(new SagaManager.Rejected(s.SagaId, "invalid saga id"));
            return;
        }
        if ((s.VmIds is null or { Count: 0 }) == (s.LabelSelector is null or { Count: 0 }))
        {
            s.ReplyTo.Tell(new SagaManager.Rejected(s.SagaId, "give either VM ids or a label selector"));
            return;
        }
        if (s.Timeout is { } t && t <= TimeSpan.Zero)
        {
            s.ReplyTo.Tell(new SagaManager.Rejected(s.SagaId, "the timeout must be positive"));
            return;
        }
        _resolving.Enqueue(s);
        _fleet.Tell(new FleetManager.GetConfigs(Self)); // the fleet answers in order: FIFO matches replies
    }

    private void OnConfigs(FleetManager.Configs configs)
    {
        if (!_resolving.TryDequeue(out var s)) return;
        var byId = configs.Vms.ToDictionary(v => v.Id);
        var ids = s.VmIds is { Count: > 0 }
            ? s.VmIds.Distinct().ToList()
            : configs.Vms.Where(v => s.LabelSelector!.All(l => v.Labels.TryGetValue(l.Key, out var val) && val == l.Value)).Select(v => v.Id).ToList();
        if (ids.Count == 0)
        {
            s.ReplyTo.Tell(new SagaManager.Rejected(s.SagaId, "the group selects no VM"));
            return;
        }
        var start = s.Build(ids, byId);
        Persist(new SagaManager.SagaRegistered(s.SagaId, DateTimeOffset.UtcNow, s.Kind), e =>
        {
            Apply(e);
            Child(s.SagaId).Tell(start);
        });
    }

    private IActorRef Child(string sagaId)
    {
        var name = "saga-" + sagaId;
        var existing = Context.Child(name);
        if (!existing.IsNobody()) return existing;
        var kind = _index.TryGetValue(sagaId, out var s) ? s.Kind : SagaKind.FreezeSnapshotThaw;
        var props = kind == SagaKind.FreezeSnapshotThaw
            ? FreezeSnapshotThaw.Props(sagaId, _fleet, _settings.Saga, Self)
            : PowerSaga.Props(sagaId, _fleet, _settings.Power, Self);
        var child = Context.ActorOf(props, name);
        Context.WatchWith(child, new ChildStopped(sagaId));
        return child;
    }

    private void WithSaga(string sagaId, IActorRef replyTo, Action<IActorRef, SagaKind> action)
    {
        if (!_index.TryGetValue(sagaId, out var s)) replyTo.Tell(new SagaManager.UnknownSaga(sagaId));
        else action(Child(sagaId), s.Kind); // an ended saga is recovered from the journal on demand
    }

    // A persistent child that fails to persist stops itself: do not escalate, let ChildStopped restart it.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    /// <summary>A Start* waiting for the fleet's configs; <c>Build</c> makes the saga's Start from the resolved ids.</summary>
    private sealed record PendingStart(
        string SagaId,
        SagaKind Kind,
        IReadOnlyList<string>? VmIds,
        IReadOnlyDictionary<string, string>? LabelSelector,
        IActorRef ReplyTo,
        Func<IReadOnlyList<string>, Dictionary<string, VmConfig>, object> Build,
        TimeSpan? Timeout = null);

    private sealed record ChildStopped(string SagaId);

    private sealed record RestartSaga(string SagaId);
}
