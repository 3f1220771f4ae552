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

        // ---- power (QMP view) ----
        public volatile string RunState = "running"; // query-status; the agent answers only while "running"
        public bool WakeupSupport = true;     // query-current-machine wakeup-suspend-support
        public bool NoQmp;                    // every QMP command fails Unreachable
        public bool QmpGone;                  // QEMU exited: QMP fails Unreachable (set by ExitOnPowerOff)
        public bool ExitOnPowerOff;           // QEMU exits after a shutdown / suspend to disk
        public bool HangChecks;               // query-current-machine is never answered
        public bool IgnorePower;              // guest-suspend-* / guest-shutdown accepted, nothing happens, no reply
        public bool SilentEvents;             // power state changes but QEMU sends no event
        public string? RefusePower;           // guest-suspend-* / guest-shutdown answer this error
        public bool AcpiIgnored;              // system_powerdown does nothing
        public bool AgentDeadAfterWakeup;     // guest-ping fails once the VM woke up
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

    private readonly Dictionary<string, HashSet<IActorRef>> _subscribers = [];

    public FakeFleet(FakeGuests guests)
    {
        Receive<Vm.SubscribeEvents>(sub =>
        {
            if (!_subscribers.TryGetValue(sub.VmId, out var set)) _subscribers[sub.VmId] = set = [];
            set.Add(sub.Subscriber);
        });
        Receive<Vm.UnsubscribeEvents>(u => { if (_subscribers.TryGetValue(u.VmId, out var set)) set.Remove(u.Subscriber); });
        Receive<Vm.ResyncGuest>(r => guests.Log.Enqueue($"{r.VmId}:resync"));

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
            var reply = Run(g, e, Emit);
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
            if (g.NoQmp || g.QmpGone)
            {
                q.ReplyTo.Tell(new Vm.QmpExecuted(q.VmId, q.RequestId, q.Command, null, null,
                    new Vm.Failure(Vm.FailureKind.Unreachable, g.NoQmp ? "no QMP socket configured for this VM" : "connection refused")));
                return;
            }
            if (q.Command != "transaction")
            {
                if (RunQmp(g, q, Emit) is { } r) q.ReplyTo.Tell(r);
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

    /// <summary>A QMP event of <paramref name="vmId"/> to every subscriber (what the VM actor does).</summary>
    private void Emit(string vmId, string name, string data)
    {
        if (!_subscribers.TryGetValue(vmId, out var set)) return;
        var ev = new Vm.QmpEvent(vmId, name, JsonDocument.Parse(data).RootElement.Clone(), DateTimeOffset.UtcNow);
        foreach (var s in set) s.Tell(ev);
    }

    private static Vm.QmpExecuted? RunQmp(FakeGuests.Guest g, Vm.ExecuteQmp q, Action<string, string, string> emit)
    {
        Vm.QmpExecuted Ok(string json) => new(q.VmId, q.RequestId, q.Command, JsonDocument.Parse(json).RootElement.Clone(), null, null);
        lock (g)
        {
            switch (q.Command)
            {
                case "query-status":
                    return Ok($$"""{"status": "{{g.RunState}}", "running": {{(g.RunState == "running" ? "true" : "false")}}}""");
                case "query-current-machine":
                    return g.HangChecks ? null : Ok($$"""{"wakeup-suspend-support": {{(g.WakeupSupport ? "true" : "false")}}}""");
                case "system_wakeup":
                    if (g.RunState != "suspended")
                        return new(q.VmId, q.RequestId, q.Command, null, QgaError.Generic("Unable to wake up: guest is not in suspended state"), null);
                    g.RunState = "running";
                    if (g.AgentDeadAfterWakeup) g.NoAgent = true;
                    if (!g.SilentEvents) emit(g.Id, "WAKEUP", "{}");
                    return Ok("{}");
                case "system_powerdown":
                    if (!g.AcpiIgnored && g.RunState == "running") PowerOff(g, emit);
                    return Ok("{}");
                default:
                    return Ok("{}");
            }
        }
    }

    private static void PowerOff(FakeGuests.Guest g, Action<string, string, string> emit, string? first = null)
    {
        g.RunState = "shutdown";
        if (!g.SilentEvents)
        {
            if (first is not null) emit(g.Id, first, "{}");
            emit(g.Id, "SHUTDOWN", """{"guest": true, "reason": "guest-shutdown"}""");
        }
        if (g.ExitOnPowerOff) g.QmpGone = true;
    }

    private static Vm.Executed? Power(FakeGuests.Guest g, Vm.Execute e, Action<string, string, string> emit)
    {
        if (g.RefusePower is { } why) return new(e.VmId, e.RequestId, e.Command.Name, null, QgaError.Generic(why), null);
        if (g.IgnorePower) return null;
        switch (e.Command.Name)
        {
            case "guest-suspend-ram" or "guest-suspend-hybrid":
                g.RunState = "suspended";
                if (!g.SilentEvents) emit(g.Id, "SUSPEND", "{}");
                break;
            case "guest-suspend-disk":
                PowerOff(g, emit, "SUSPEND_DISK");
                break;
            default: // guest-shutdown
                var mode = e.Arguments?.GetProperty("mode").GetString();
                if (mode == "reboot") { if (!g.SilentEvents) emit(g.Id, "RESET", """{"guest": true, "reason": "guest-reset"}"""); }
                else if (mode == "halt") { if (!g.SilentEvents) emit(g.Id, "VSERPORT_CHANGE", """{"id": "qga0", "open": false}"""); }
                else PowerOff(g, emit);
                break;
        }
        // What the VM actor's channel does on the event: complete the request without a reply.
        return new(e.VmId, e.RequestId, e.Command.Name, JsonDocument.Parse("{}").RootElement.Clone(), null, null);
    }

    private static Vm.Executed? Run(FakeGuests.Guest g, Vm.Execute e, Action<string, string, string> emit)
    {
        Vm.Executed Ok(string json) => new(e.VmId, e.RequestId, e.Command.Name, JsonDocument.Parse(json).RootElement.Clone(), null, null);
        Vm.Executed Err(string desc) => new(e.VmId, e.RequestId, e.Command.Name, null, QgaError.Generic(desc), null);
        if (g.NoAgent)
            return new(e.VmId, e.RequestId, e.Command.Name, null, null, new Vm.Failure(Vm.FailureKind.Unreachable, "no agent"));
        if (g.RunState != "running")
            return new(e.VmId, e.RequestId, e.Command.Name, null, null, new Vm.Failure(Vm.FailureKind.Timeout, $"no reply (VM {g.RunState})"));
        lock (g)
        {
            switch (e.Command.Name)
            {
                case "guest-suspend-ram" or "guest-suspend-disk" or "guest-suspend-hybrid" or "guest-shutdown":
                    return Power(g, e, emit);
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
