using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Persistence;
using QgaOrchestrator.Core.Sagas;
using QgaOrchestrator.Core.Snapshots;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol;
using QgaOrchestrator.Protocol.Qga;
using QgaOrchestrator.SagaBench;

// Simulated VMs (SimFleet: one actor per VM behind a router) answer every command after a per-VM latency
// (1..5 ms, on the Akka scheduler). For each fleet size:
//  saga:       group window (first freeze sent → last thaw confirmed, from the saga's own timeline),
//              minus the slowest guest's own freeze+snapshot+thaw time as measured by the simulated VMs
//              (request taken → its timer fired, so the timer's lateness is the guest's; see SimGuest.Own).
//              Also shown against the nominal 3 × latency, which leaves the timer's lateness in the overhead.
//  sequential: freeze → snapshot → thaw one VM after the other (the Proxmox/libvirt loop), same fleet.
var dir = Path.Combine(Environment.GetEnvironmentVariable("QGA_BENCH_DIR") ?? Path.GetTempPath(), "qga-saga-bench-" + Guid.NewGuid().ToString("N"));
var quiet = ConfigurationFactory.ParseString("akka.loglevel = WARNING");
// QGA_BENCH_INMEM=1: Akka's in-memory journal, to tell the journal's share from the actors'
var config = Environment.GetEnvironmentVariable("QGA_BENCH_INMEM") == "1"
    ? Akka.Actor.Setup.ActorSystemSetup.Create(Akka.Actor.BootstrapSetup.Create().WithConfig(ConfigurationFactory.ParseString("akka.persistence.journal.plugin = akka.persistence.journal.inmem").WithFallback(SagaPersistence.Serialization).WithFallback(quiet)))
    : SagaPersistence.SqliteSystemSetup(dir, quiet);
var sizes = args.Length > 0 && args[0] is not ("pure" or "journal") ? args.Select(int.Parse).ToArray() : [10, 100, 1000];
var rnd = new Random(42);
var system = ActorSystem.Create("bench", config);
try
{
if (args.Length > 0 && args[0] == "journal")
{
    var probe = Inbox.Create(system);
    var writer = system.ActorOf(Props.Create(() => new BatchWriter()), "writer");
    foreach (var n in new[] { 1, 1, 10, 100, 1000, 1, 100, 1000 })
    {
        var sw = Stopwatch.StartNew();
        writer.Tell(n, probe.Receiver);
        await probe.ReceiveAsync(TimeSpan.FromMinutes(1));
        Console.WriteLine($"journal batch {n}: {sw.Elapsed.TotalMilliseconds:F2} ms");
    }
    await system.Terminate();
    return;
}
if (args.Length > 0 && args[0] == "pure")
{
    foreach (var n in new[] { 100, 1000 })
    {
        var ids = Enumerable.Range(0, n).Select(i => $"vm{i:D4}").ToList();
        var now = DateTimeOffset.UtcNow;
        var st = FreezeSnapshotThawState.Empty;
        var all = new List<IFreezeSagaEvent>();
        void Feed(SagaInput input) { var (ev, next) = st.DecideAndApply(input, now); st = next; all.AddRange(ev); }
        var swp = Stopwatch.StartNew();
        Feed(new SagaInput.Begin("s", ids, SnapshotMode.Qmp, "x", TimeSpan.FromMinutes(1), UnavailablePolicy.FailGroup, new Dictionary<string, IReadOnlyList<string>>(), [], ids.ToDictionary(i => i, i => (IReadOnlyList<string>)["drive0"])));
        var t0 = swp.Elapsed;
        foreach (var id in ids) Feed(new SagaInput.StatusObserved(id, "thawed", null));
        var t1 = swp.Elapsed;
        foreach (var id in ids) Feed(new SagaInput.FreezeObserved(id, 2, null));
        var t2 = swp.Elapsed;
        foreach (var id in ids) Feed(new SagaInput.SnapshotObserved(id, null));
        var t3 = swp.Elapsed;
        foreach (var id in ids) Feed(new SagaInput.ThawObserved(id, 2, null));
        var t4 = swp.Elapsed;
        Console.WriteLine($"pure {n}: begin {t0.TotalMilliseconds:F1} status {(t1-t0).TotalMilliseconds:F1} freeze {(t2-t1).TotalMilliseconds:F1} snap {(t3-t2).TotalMilliseconds:F1} thaw {(t4-t3).TotalMilliseconds:F1} ms; {all.Count} events, ended {st.Phase}");
        var ser = system.Serialization;
        swp.Restart();
        long bytes = 0;
        foreach (var e in all) { var s = ser.FindSerializerFor(e); bytes += s.ToBinary(e).Length; }
        Console.WriteLine($"  serialize all with {ser.FindSerializerFor(all[^1]).GetType().Name}: {swp.Elapsed.TotalMilliseconds:F1} ms, {bytes} bytes");
    }
    await system.Terminate();
    return;
}
    var settings = new SagaManager.Settings
    {
        Saga = FreezeSnapshotThaw.Settings.Default with { Qmp = new QmpSnapshotProvider(dir), RequestTimeout = TimeSpan.FromSeconds(30) },
    };
    var lateness = system.ActorOf(Props.Create(() => new SchedulerLateness()), "lateness");
    var late = (SchedulerLateness.Result)await lateness.Ask(500, TimeSpan.FromMinutes(1));
    Console.WriteLine($"scheduler lateness over 500 tells of 1..5 ms: mean {late.MeanMs:F2} ms, max {late.MaxMs:F2} ms");
    Console.WriteLine("VMs | saga group window | slowest guest own (measured) | saga overhead | overhead vs 3 x nominal latency | sequential loop");
    foreach (var n in sizes)
    {
        var guests = Enumerable.Range(0, n).Select(i => new SimGuest($"vm{i:D4}", TimeSpan.FromMilliseconds(rnd.Next(1, 6)))).ToList();
        var fleet = system.ActorOf(SimFleet.Props(guests), $"fleet-{n}");
        var manager = system.ActorOf(SagaManager.Props(fleet, settings), $"sagas-{n}");
        var inbox = Inbox.Create(system);

        // warm-up run (JIT, SQLite schema), then the measured run
        FreezeSnapshotThawState? state = null;
        foreach (var run in new[] { "warm", "run" })
        {
            foreach (var g in guests) g.ResetOwn();
            manager.Tell(new SagaManager.StartFreeze($"{run}-{n}", SnapshotMode.Qmp, "bench", inbox.Receiver, VmIds: guests.Select(g => g.Id).ToList()), inbox.Receiver);
            while (true)
            {
                var msg = await inbox.ReceiveAsync(TimeSpan.FromMinutes(2));
                if (msg is FreezeSnapshotThaw.Finished f) { state = f.State; break; }
            }
        }
        if (state!.Outcome != SagaOutcome.Completed || guests.Any(g => g.Frozen || g.SnapshotsWhileThawed > 0 || g.Freezes != 2 || g.Thaws != 2))
            throw new InvalidOperationException($"saga did not complete: {state.EndReason}");
        var window = state.GroupWindow!.Value;
        var nominal = TimeSpan.FromMilliseconds(3 * guests.Max(g => g.Latency.TotalMilliseconds));
        var slowest = guests.Max(g => g.Own);

        var sw = Stopwatch.StartNew();
        foreach (var g in guests)
        {
            fleet.Tell(new Vm.Execute(g.Id, QgaCommands.GuestFsfreezeFreeze, null, "f", inbox.Receiver));
            await inbox.ReceiveAsync(TimeSpan.FromSeconds(10));
            fleet.Tell(new Vm.ExecuteQmp(g.Id, "transaction", null, "s", inbox.Receiver));
            await inbox.ReceiveAsync(TimeSpan.FromSeconds(10));
            fleet.Tell(new Vm.Execute(g.Id, QgaCommands.GuestFsfreezeThaw, null, "t", inbox.Receiver));
            await inbox.ReceiveAsync(TimeSpan.FromSeconds(10));
        }
        var sequential = sw.Elapsed;
        Console.WriteLine($"{n,5} | {window.TotalMilliseconds,10:F1} ms | {slowest.TotalMilliseconds,8:F1} ms | {(window - slowest).TotalMilliseconds,8:F1} ms | {(window - nominal).TotalMilliseconds,8:F1} ms | {sequential.TotalMilliseconds,10:F1} ms");
        Console.WriteLine("      phases: " + Phases(state));
    }
}
finally
{

    await system.Terminate();
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
}

static string Phases(FreezeSnapshotThawState s)
{
    // where the window goes: first freeze intent → last frozen → last snapshot → last thawed
    var t = s.Tracks.Where(v => v.FreezeStartedAt is not null).ToList();
    var start = t.Min(v => v.FreezeStartedAt!.Value);
    double Ms(DateTimeOffset x) => (x - start).TotalMilliseconds;
    return $"frozen {Ms(t.Max(v => v.FrozenAt!.Value)):F1} ms, snapshotted {Ms(t.Max(v => v.SnapshotAt!.Value)):F1} ms, thawed {Ms(t.Max(v => v.ThawedAt!.Value)):F1} ms";
}

sealed class BatchWriter : Akka.Persistence.ReceivePersistentActor
{
    public override string PersistenceId => "batch-writer";
    public BatchWriter()
    {
        Command<int>(n =>
        {
            var now = DateTimeOffset.UtcNow;
            var events = Enumerable.Range(0, n).Select(i => (IFreezeSagaEvent)new FreezeRequested("s", $"vm{i:D4}", now)).ToList();
            var left = n;
            var replyTo = Sender;
            PersistAll(events, _ => { if (--left == 0) replyTo.Tell("done"); });
        });
    }
}

/// <summary>How late the scheduler delivers a 1..5 ms ScheduleTellOnce (the simulated guests' replies).</summary>
sealed class SchedulerLateness : ReceiveActor
{
    public sealed record Result(double MeanMs, double MaxMs);
    private sealed record Due(long At);

    public SchedulerLateness()
    {
        var rnd = new Random(7);
        IActorRef? replyTo = null;
        int left = 0, total = 0;
        double sum = 0, max = 0;
        Receive<int>(n =>
        {
            (replyTo, left, total, sum, max) = (Sender, n, n, 0, 0);
            for (var i = 0; i < n; i++)
            {
                var delay = TimeSpan.FromMilliseconds(rnd.Next(1, 6));
#pragma warning disable AK1004 // a one-off probe that stops with the system
                Context.System.Scheduler.ScheduleTellOnce(delay, Self, new Due(Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency)), Self);
#pragma warning restore AK1004
            }
        });
        Receive<Due>(d =>
        {
            var ms = Stopwatch.GetElapsedTime(d.At).TotalMilliseconds;
            sum += ms;
            max = Math.Max(max, ms);
            if (--left == 0) replyTo!.Tell(new Result(sum / total, max));
        });
    }
}
