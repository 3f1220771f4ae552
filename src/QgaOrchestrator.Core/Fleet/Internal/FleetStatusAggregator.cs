using Akka.Actor;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Core.Fleet.Internal;

/// <summary>
/// INTERNAL API. Answers one <see cref="FleetManager.GetFleetStatus"/>: asks every VM, waits up to
/// the timeout, replies once (a VM that did not answer is listed from its config) and stops.
/// </summary>
internal sealed class FleetStatusAggregator : UntypedActor, IWithTimers
{
    private sealed class Deadline
    {
        public static readonly Deadline Instance = new();
        private Deadline() { }
    }

    private readonly IReadOnlyList<(VmConfig Config, IActorRef Actor)> _vms;
    private readonly IActorRef _replyTo;
    private readonly TimeSpan _timeout;
    private readonly Dictionary<string, Vm.Status> _answers = new(StringComparer.Ordinal);

    public FleetStatusAggregator(IReadOnlyList<(VmConfig, IActorRef)> vms, IActorRef replyTo, TimeSpan timeout)
    {
        _vms = vms;
        _replyTo = replyTo;
        _timeout = timeout;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IReadOnlyList<(VmConfig, IActorRef)> vms, IActorRef replyTo, TimeSpan timeout) =>
        Akka.Actor.Props.Create(() => new FleetStatusAggregator(vms, replyTo, timeout));

    protected override void PreStart()
    {
        foreach (var (config, actor) in _vms) actor.Tell(new Vm.GetStatus(config.Id, Self));
        if (_vms.Count == 0) Finish();
        else Timers.StartSingleTimer("deadline", Deadline.Instance, _timeout);
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Vm.Status s:
                _answers[s.VmId] = s;
                if (_answers.Count >= _vms.Count) Finish();
                break;
            case Deadline:
                Finish();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Finish()
    {
        var list = _vms
            .Select(v => _answers.TryGetValue(v.Config.Id, out var s) ? s
                : new Vm.Status(v.Config.Id, v.Config, false, null, [], null, null, false, "no status reply in time"))
            .OrderBy(s => s.VmId, StringComparer.Ordinal)
            .ToList();
        _replyTo.Tell(new FleetManager.FleetStatus(list));
        Context.Stop(Self);
    }
}
