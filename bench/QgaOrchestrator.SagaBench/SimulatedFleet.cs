using System.Diagnostics;
using System.Text.Json;
using Akka.Actor;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.SagaBench;

/// <summary>One simulated guest: answers every command after <see cref="Latency"/>. Written only by its own VM actor.</summary>
public sealed class SimGuest(string id, TimeSpan latency)
{
    public string Id { get; } = id;
    public TimeSpan Latency { get; } = latency;
    public volatile bool Frozen;
    public int Freezes;
    public int Thaws;
    public int SnapshotsWhileThawed; // must stay 0: the saga snapshots only frozen guests
    private long _ownTicks;

    /// <summary>
    /// This guest's own time for freeze + snapshot + thaw as it really ran: for each, from its VM actor taking the
    /// request to its timer firing (the latency plus the timer's lateness).
    /// </summary>
    public TimeSpan Own => TimeSpan.FromTicks(Interlocked.Read(ref _ownTicks));

    /// <summary>Per step (freeze, snapshot, thaw): when this VM took the request, when its timer fired (UTC, the saga's clock).</summary>
    public readonly DateTimeOffset[] Taken = new DateTimeOffset[3];
    public readonly DateTimeOffset[] Fired = new DateTimeOffset[3];

    public void AddOwn(TimeSpan t) => Interlocked.Add(ref _ownTicks, t.Ticks);

    public void ResetOwn() => Interlocked.Exchange(ref _ownTicks, 0);
}

/// <summary>
/// The fleet as the orchestrator really has it: a router forwarding by VmId to one actor per VM (what
/// FleetManager does), so replies are produced in parallel, not by one actor for the whole fleet.
/// </summary>
public sealed class SimFleet : ReceiveActor
{
    public static Props Props(IReadOnlyCollection<SimGuest> guests) => Akka.Actor.Props.Create(() => new SimFleet(guests));

    public SimFleet(IReadOnlyCollection<SimGuest> guests)
    {
        var vms = new Dictionary<string, IActorRef>(StringComparer.Ordinal);
        foreach (var g in guests) vms[g.Id] = Context.ActorOf(SimVm.Props(g), "vm-" + g.Id);

        Receive<Vm.IVmMessage>(m =>
        {
            if (vms.TryGetValue(m.VmId, out var vm)) vm.Forward(m);
            else if (m is Vm.Execute e) e.ReplyTo.Tell(new FleetManager.UnknownVm(e.VmId, e.RequestId, "not in this fleet"));
            else if (m is Vm.ExecuteQmp q) q.ReplyTo.Tell(new FleetManager.UnknownVm(q.VmId, q.RequestId, "not in this fleet"));
        });
        Receive<FleetManager.GetConfigs>(g => g.ReplyTo.Tell(new FleetManager.Configs(guests.OrderBy(v => v.Id, StringComparer.Ordinal)
            .Select(v => new VmConfig { Id = v.Id, QgaSocket = $"/run/{v.Id}.qga", Disks = ["drive0"] }).ToList())));
    }
}

/// <summary>
/// One simulated VM, standing for VmActor + its channels. Like VmActor it relays each request and gets the
/// channel's reply back before passing it on (the reply is scheduled to itself after the guest's latency,
/// on the Akka scheduler, or with QGA_BENCH_TIMER=task on Task.Delay), and like VmActor it reads no reply JSON: the replies are built once. What is not
/// simulated is the channel's own work (socket write/read and parsing one short reply line).
/// </summary>
internal sealed class SimVm : ReceiveActor
{
    private static readonly JsonElement Thawed = Parse("\"thawed\"");
    private static readonly JsonElement Frozen = Parse("\"frozen\"");
    private static readonly JsonElement Empty = Parse("{}");
    private static readonly JsonElement[] Counts = [Parse("0"), Parse("1"), Parse("2")];
    private const int FrozenFilesystems = 2;

    private sealed record Reply(IActorRef To, object Message);

    // The Akka scheduler ticks every 10 ms at best (a 1..5 ms latency fires 0..10 ms late); Task.Delay has ~1 ms.
    private static readonly bool TaskTimer = Environment.GetEnvironmentVariable("QGA_BENCH_TIMER") == "task";

    public static Props Props(SimGuest guest) => Akka.Actor.Props.Create(() => new SimVm(guest));

    // Replies in flight, cancelled with the actor. One-shot tells, not Timers: timers are keyed and a VM has
    // several replies in flight at the same time under different request ids.
    private readonly Cancelable _inFlight;

    protected override void PostStop() => _inFlight.Cancel();

    public SimVm(SimGuest g)
    {
        var scheduler = Context.System.Scheduler;
        _inFlight = new Cancelable(scheduler);
#pragma warning disable AK1004 // cancelled in PostStop
        // step: 0 freeze, 1 snapshot, 2 thaw, -1 not part of the group window (status)
        void Later(IActorRef to, object reply, int step)
        {
            // Own time ends when the timer fires (the guest "answers"): waiting for a thread after that is ours.
            var r = new Reply(to, reply);
            var taken = Stopwatch.GetTimestamp();
            if (step >= 0) g.Taken[step] = DateTimeOffset.UtcNow;
            var self = Self;
            void Fired()
            {
                if (step < 0) return;
                g.AddOwn(Stopwatch.GetElapsedTime(taken));
                g.Fired[step] = DateTimeOffset.UtcNow;
            }
            if (TaskTimer) Task.Delay(g.Latency, _inFlight.Token).ContinueWith(_ => { Fired(); return r; }, TaskScheduler.Default).PipeTo(self);
            else scheduler.Advanced.ScheduleOnce(g.Latency, () => { Fired(); self.Tell(r); }, _inFlight);
        }
#pragma warning restore AK1004

        Receive<Vm.Execute>(e =>
        {
            Vm.Executed Ok(JsonElement ret) => new(e.VmId, e.RequestId, e.Command.Name, ret, null, null);
            Vm.Executed reply;
            switch (e.Command.Name)
            {
                case "guest-fsfreeze-status":
                    reply = Ok(g.Frozen ? Frozen : Thawed);
                    break;
                case "guest-fsfreeze-freeze" or "guest-fsfreeze-freeze-list":
                    if (g.Frozen) { reply = new(e.VmId, e.RequestId, e.Command.Name, null, Protocol.QgaError.Generic("The agent is in frozen state"), null); break; }
                    g.Frozen = true;
                    g.Freezes++;
                    reply = Ok(Counts[FrozenFilesystems]);
                    break;
                case "guest-fsfreeze-thaw":
                    reply = Ok(Counts[g.Frozen ? FrozenFilesystems : 0]);
                    g.Frozen = false;
                    g.Thaws++;
                    break;
                default:
                    reply = Ok(Empty);
                    break;
            }
            Later(e.ReplyTo, reply, e.Command.Name switch { "guest-fsfreeze-status" => -1, "guest-fsfreeze-thaw" => 2, _ => 0 });
        });
        Receive<Vm.ExecuteQmp>(q =>
        {
            if (q.Command == "transaction" && !g.Frozen) g.SnapshotsWhileThawed++;
            Later(q.ReplyTo, new Vm.QmpExecuted(q.VmId, q.RequestId, q.Command, Empty, null, null), q.Command == "transaction" ? 1 : -1);
        });
        Receive<Reply>(r => r.To.Tell(r.Message));
        ReceiveAny(_ => { }); // subscriptions, resync: no events in this simulation
    }

    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
