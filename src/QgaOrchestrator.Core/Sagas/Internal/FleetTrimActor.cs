using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol.Qga;

namespace QgaOrchestrator.Core.Sagas.Internal;

/// <summary>INTERNAL API. Persistent shell of <see cref="FleetTrim.State"/>: intent (TrimRequested) journaled before each send.</summary>
internal sealed class FleetTrimActor : ReceivePersistentActor
{
    private readonly string _sagaId;
    private readonly IActorRef _fleet;
    private readonly TimeSpan _timeout;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private FleetTrim.State _state = FleetTrim.State.Empty;
    private IActorRef? _replyTo;

    public FleetTrimActor(string sagaId, IActorRef fleet, TimeSpan timeout)
    {
        _sagaId = sagaId;
        _fleet = fleet;
        _timeout = timeout;
        Recover<FleetTrim.ITrimEvent>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ =>
        {
            foreach (var vm in _state.InFlight) Send(vm); // idempotent: re-send what was in flight
        });
        Command<FleetTrim.Start>(s => { _replyTo = s.ReplyTo; Handle(_state.DecideStart(s)); });
        Command<Vm.Executed>(OnTrimmed);
        Command<FleetManager.UnknownVm>(u => Handle(_state.DecideReply(u.VmId, "unknown VM: " + u.Reason)));
    }

    public override string PersistenceId => "trim-" + _sagaId;

    private void OnTrimmed(Vm.Executed r)
    {
        var error = r.Error?.ToString() ?? r.Failure?.Reason;
        // A success without a readable "paths" list still counts as trimmed (nothing per mount to show).
        var paths = error is null && r.TryGetResult(QgaCommands.GuestFstrim, out var result, out _) && result is not null
            ? result.Paths.Select(p => new FleetTrim.TrimmedPath(p.Path, p.Trimmed, p.Minimum, p.Error)).ToList()
            : null;
        Handle(_state.DecideReply(r.VmId, error, paths));
    }

    private void Handle(IReadOnlyList<FleetTrim.ITrimEvent> events)
    {
        if (events.Count == 0) return;
        foreach (var e in events) _state = _state.Apply(e);
        PersistAllAsync(events, e =>
        {
            if (e is FleetTrim.TrimRequested r) Send(r.VmId);
            if (e is FleetTrim.TrimEnded)
            {
                _log.Info("Trim {SagaId} ended: {Count} VMs, {Failed} failed", _sagaId, _state.Done.Count, _state.Done.Count(d => d.Value is not null));
                _replyTo?.Tell(new FleetTrim.Finished(_sagaId, _state.Done, _state.Paths));
            }
        });
    }

    private void Send(string vm) =>
        _fleet.Tell(new Vm.Execute(vm, QgaCommands.GuestFstrim, FleetTrim.Arguments(_state.Minimum), $"trim:{vm}", Self, _timeout));
}
