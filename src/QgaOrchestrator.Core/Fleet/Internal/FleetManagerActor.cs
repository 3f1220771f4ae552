using Akka.Actor;
using Akka.Event;
using QgaOrchestrator.Core.Vms;
using static QgaOrchestrator.Core.Fleet.FleetManager;
using Settings = QgaOrchestrator.Core.Fleet.FleetManager.Settings;

namespace QgaOrchestrator.Core.Fleet.Internal;

/// <summary>
/// INTERNAL API. This node's fleet: one <c>vm-{id}</c> child per VM, routing by VmId.
/// <code>
///   absent ──AddVm──> running ──RemoveVm──> removing ──Terminated──> absent (VmRemoved sent)
///                        │ crashed past its restarts            (an AddVm meanwhile waits)
///                        └──Terminated──> restarting ──RestartVmAfter──> running
/// </code>
/// </summary>
internal sealed class FleetManagerActor : UntypedActor, IWithTimers
{
    private sealed record VmTerminated(string VmId);
    private sealed record RestartVm(string VmId);

    private sealed class Entry(VmConfig config)
    {
        public VmConfig Config { get; set; } = config;
        public IActorRef? Actor { get; set; }
        public List<IActorRef?>? RemoveWaiters { get; set; }
        public AddVm? PendingAdd { get; set; }
    }

    private readonly Settings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, Entry> _vms = new(StringComparer.Ordinal);
    private long _statusQueries;

    public FleetManagerActor(Settings settings) => _settings = settings;

    public ITimerScheduler Timers { get; set; } = null!;

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(10, TimeSpan.FromMinutes(1), ex => ex is ActorInitializationException ? Directive.Stop : Directive.Restart);

    protected override void PreStart()
    {
        foreach (var config in _settings.Vms) Add(new AddVm(config));
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Vm.IVmMessage m:
                Route(m);
                break;
            case AddVm add:
                Add(add);
                break;
            case RemoveVm remove:
                Remove(remove);
                break;
            case VmTerminated t:
                OnTerminated(t.VmId);
                break;
            case RestartVm r:
                if (_vms.TryGetValue(r.VmId, out var e) && e.Actor is null && e.RemoveWaiters is null) Start(e);
                break;
            case GetFleetStatus q:
                var running = _vms.Values.Where(v => v.Actor is not null && v.RemoveWaiters is null)
                    .Select(v => (v.Config, v.Actor!)).ToList();
                Context.ActorOf(FleetStatusAggregator.Props(running, q.ReplyTo, _settings.StatusTimeout), "status-" + (++_statusQueries));
                break;
            case GetConfigs c:
                c.ReplyTo.Tell(new Configs(_vms.Values.Where(v => v.RemoveWaiters is null).Select(v => v.Config).OrderBy(v => v.Id, StringComparer.Ordinal).ToList()));
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Route(Vm.IVmMessage m)
    {
        if (_vms.TryGetValue(m.VmId, out var e) && e.Actor is { } vm && e.RemoveWaiters is null)
        {
            vm.Forward(m);
            return;
        }
        var reason = e is null ? "this node does not manage the VM"
            : e.RemoveWaiters is not null ? "the VM is being removed" : "the VM actor is restarting";
        var (replyTo, requestId) = m switch
        {
            Vm.Execute x => (x.ReplyTo, x.RequestId),
            Vm.ExecuteQmp x => (x.ReplyTo, x.RequestId),
            Vm.GetStatus x => (x.ReplyTo, (string?)null),
            Vm.SubscribeEvents x => (x.Subscriber, null),
            _ => (Sender, null),
        };
        if (replyTo.IsNobody()) return;
        replyTo.Tell(new UnknownVm(m.VmId, requestId, reason));
    }

    private void Add(AddVm add)
    {
        var id = add.Config.Id;
        if (FleetConfig.Validate(add.Config) is { } problem)
        {
            add.ReplyTo?.Tell(new UnknownVm(id, null, problem));
            return;
        }
        if (_vms.TryGetValue(id, out var existing))
        {
            if (existing.RemoveWaiters is not null && existing.PendingAdd is null)
            {
                existing.PendingAdd = add; // the old actor's name is still taken until it stops
                return;
            }
            add.ReplyTo?.Tell(new UnknownVm(id, null, "a VM with this id already exists"));
            return;
        }
        var entry = new Entry(add.Config);
        _vms[id] = entry;
        Start(entry);
        _log.Info("{VmId} added (qga {QgaSocket}, qmp {QmpSocket})", id, add.Config.QgaSocket, add.Config.QmpSocket ?? "none");
        add.ReplyTo?.Tell(new VmAdded(id));
    }

    private void Start(Entry entry)
    {
        var actor = Context.ActorOf(Vm.Props(entry.Config, _settings.Vm), VmActorName(entry.Config.Id));
        Context.WatchWith(actor, new VmTerminated(entry.Config.Id));
        entry.Actor = actor;
    }

    private void Remove(RemoveVm remove)
    {
        if (!_vms.TryGetValue(remove.VmId, out var e))
        {
            remove.ReplyTo?.Tell(new UnknownVm(remove.VmId, null, "this node does not manage the VM"));
            return;
        }
        if (e.RemoveWaiters is { } waiters)
        {
            e.PendingAdd = null;
            waiters.Add(remove.ReplyTo);
            return;
        }
        e.RemoveWaiters = [remove.ReplyTo];
        if (e.Actor is { } actor) Context.Stop(actor);
        else OnTerminated(remove.VmId);
    }

    private void OnTerminated(string id)
    {
        if (!_vms.TryGetValue(id, out var e)) return;
        e.Actor = null;
        if (e.RemoveWaiters is { } waiters)
        {
            _vms.Remove(id);
            _log.Info("{VmId} removed", id);
            foreach (var w in waiters) w?.Tell(new VmRemoved(id));
            if (e.PendingAdd is { } again) Add(again);
            return;
        }
        _log.Error("{VmId} VM actor stopped after repeated faults; restarting it in {Delay}", id, _settings.RestartVmAfter);
        Timers.StartSingleTimer("restart-" + id, new RestartVm(id), _settings.RestartVmAfter);
    }
}
