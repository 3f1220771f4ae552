using System.Collections.Concurrent;
using System.Text.Json;
using Akka.Actor;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol;

namespace QgaOrchestrator.Sagas.Tests;

/// <summary>
/// Simulated guests shared across ActorSystems (so a crash test can restart the orchestrator while the
/// guests keep their state). Thread-safe: the fake fleet actor of each system mutates it.
/// </summary>
public sealed class FakeGuests
{
    public sealed class Guest(string id)
    {
        public string Id { get; } = id;
        public volatile bool Frozen;
        public int FrozenFilesystems = 2;
        public string? FailFreeze;        // freeze replies with this error (and stays thawed, like qemu-ga)
        public int FailThaws;             // the next N thaws reply with an error and leave it frozen
        public bool NoAgent;              // every QGA command fails Unreachable
        public bool Removed;              // the fleet answers UnknownVm
        public bool HangFreeze;           // freeze is applied but never answered
        public bool HangThaw;             // thaw is applied but never answered
        public bool HangSnapshot;         // the QMP transaction is never answered
        public IReadOnlyList<string> Disks = ["drive0"];
        public IReadOnlyDictionary<string, string> Labels = new Dictionary<string, string>();
        public TimeSpan Latency = TimeSpan.Zero;
        public int Freezes;
        public int Thaws;
    }

    public ConcurrentDictionary<string, Guest> Guests { get; } = new();

    /// <summary>Every command as "vm:command" in arrival order.</summary>
    public ConcurrentQueue<string> Log { get; } = new();

    public FakeGuests(params string[] ids) { foreach (var id in ids) Add(id); }

    public Guest Add(string id) => Guests[id] = new Guest(id);

    public Guest this[string id] => Guests[id];

    public bool AnyFrozen => Guests.Values.Any(g => g.Frozen);
}

/// <summary>A fleet manager stand-in answering like VM actors over <see cref="FakeGuests"/>.</summary>
public sealed class FakeFleet : ReceiveActor
{
    public static Props Props(FakeGuests guests) => Akka.Actor.Props.Create(() => new FakeFleet(guests));

    public FakeFleet(FakeGuests guests)
    {
        Receive<FleetManager.GetConfigs>(g => g.ReplyTo.Tell(new FleetManager.Configs(guests.Guests.Values.OrderBy(v => v.Id, StringComparer.Ordinal)
            .Where(v => !v.Removed)
            .Select(v => new VmConfig { Id = v.Id, QgaSocket = $"/run/{v.Id}.qga", Disks = v.Disks, Labels = v.Labels }).ToList())));

        Receive<Vm.Execute>(e =>
        {
            guests.Log.Enqueue($"{e.VmId}:{e.Command.Name}");
            if (!guests.Guests.TryGetValue(e.VmId, out var g) || g.Removed)
            {
                e.ReplyTo.Tell(new FleetManager.UnknownVm(e.VmId, e.RequestId, "not in this fleet"));
                return;
            }
            var reply = Run(g, e);
            if (reply is null) return;
            if (g.Latency > TimeSpan.Zero) Later(g.Latency, reply, e.ReplyTo);
            else e.ReplyTo.Tell(reply);
        });

        Receive<Vm.ExecuteQmp>(q =>
        {
            guests.Log.Enqueue($"{q.VmId}:{q.Command}:{q.Arguments?.GetRawText()}");
            if (!guests.Guests.TryGetValue(q.VmId, out var g) || g.Removed)
            {
                q.ReplyTo.Tell(new FleetManager.UnknownVm(q.VmId, q.RequestId, "not in this fleet"));
                return;
            }
            if (g.HangSnapshot) return;
            // A consistent snapshot needs the guest frozen (or skipped): record what we saw.
            guests.Log.Enqueue($"{q.VmId}:snapshot-while-frozen={g.Frozen}");
            var reply = new Vm.QmpExecuted(q.VmId, q.RequestId, q.Command, JsonDocument.Parse("{}").RootElement, null, null);
            if (g.Latency > TimeSpan.Zero) Later(g.Latency, reply, q.ReplyTo);
            else q.ReplyTo.Tell(reply);
        });
    }

    // Task.Delay has ~1 ms resolution; the Akka scheduler ticks every 10 ms.
    private static void Later(TimeSpan latency, object reply, IActorRef to) =>
        Task.Delay(latency).ContinueWith(_ => reply, TaskScheduler.Default).PipeTo(to);

    private static Vm.Executed? Run(FakeGuests.Guest g, Vm.Execute e)
    {
        Vm.Executed Ok(string json) => new(e.VmId, e.RequestId, e.Command.Name, JsonDocument.Parse(json).RootElement.Clone(), null, null);
        Vm.Executed Err(string desc) => new(e.VmId, e.RequestId, e.Command.Name, null, QgaError.Generic(desc), null);
        if (g.NoAgent)
            return new(e.VmId, e.RequestId, e.Command.Name, null, null, new Vm.Failure(Vm.FailureKind.Unreachable, "no agent"));
        lock (g)
        {
            switch (e.Command.Name)
            {
                case "guest-fsfreeze-status":
                    return Ok(g.Frozen ? "\"frozen\"" : "\"thawed\"");
                case "guest-fsfreeze-freeze" or "guest-fsfreeze-freeze-list":
                    if (g.Frozen) return Err("The agent is in frozen state");
                    if (g.FailFreeze is { } why) return Err(why);
                    g.Frozen = true;
                    g.Freezes++;
                    return g.HangFreeze ? null : Ok(g.FrozenFilesystems.ToString(System.Globalization.CultureInfo.InvariantCulture));
                case "guest-fsfreeze-thaw":
                    if (g.FailThaws > 0) { g.FailThaws--; return Err("thaw failed"); }
                    var n = g.Frozen ? g.FrozenFilesystems : 0;
                    g.Frozen = false;
                    g.Thaws++;
                    return g.HangThaw ? null : Ok(n.ToString(System.Globalization.CultureInfo.InvariantCulture));
                default:
                    return Ok("{}");
            }
        }
    }
}
