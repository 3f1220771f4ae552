using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Persistence;
using QgaOrchestrator.Core.Sagas;
using QgaOrchestrator.Core.Snapshots;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol.Qga;
using QgaOrchestrator.SagaBench;

// Simulated VMs (SimFleet: one actor per VM behind a router) answer every command after a per-VM latency
// (1..5 ms). For each fleet size, one warm-up saga then several measured ones (QGA_BENCH_RUNS, default 20 / 10 / 5
// at 10 / 100 / 1,000 VMs), reported as median and max:
//  overhead:   group window (first freeze decided → last thaw confirmed, from the saga's own timeline), minus the
//              slowest guest's own freeze+snapshot+thaw time as measured by the simulated VMs (request taken →
//              its timer fired, so the timer's lateness is the guest's; see SimGuest.Own).
//  phases:     per step, decided → first VM takes the request (journal write + send), first → last VM takes it,
//              last VM's timer fired → the saga decided its reply.
//  sequential: freeze → snapshot → thaw one VM after the other (the Proxmox/libvirt loop), same fleet, once per size
//              (QGA_BENCH_SEQUENTIAL=0 skips it).
// The load average is printed at the start and the end: figures taken under load are not comparable.
var dir = Path.Combine(Environment.GetEnvironmentVariable("QGA_BENCH_DIR") ?? Path.GetTempPath(), "qga-saga-bench-" + Guid.NewGuid().ToString("N"));
var quiet = ConfigurationFactory.ParseString("akka.loglevel = WARNING");
// QGA_BENCH_INMEM=1: Akka's in-memory journal, to tell the journal's share from the actors'
var config = Environment.GetEnvironmentVariable("QGA_BENCH_INMEM") == "1"
    ? Akka.Actor.Setup.ActorSystemSetup.Create(Akka.Actor.BootstrapSetup.Create().WithConfig(ConfigurationFactory.ParseString("akka.persistence.journal.plugin = akka.persistence.journal.inmem").WithFallback(SagaPersistence.Serialization).WithFallback(quiet)))
    : SagaPersistence.SqliteSystemSetup(dir, quiet);
var sizes = args.Length > 0 && args[0] is not ("pure" or "journal" or "build") ? args.Select(int.Parse).ToArray() : [10, 100, 1000];
var runsOverride = int.TryParse(Environment.GetEnvironmentVariable("QGA_BENCH_RUNS"), out var r0) ? r0 : (int?)null;
var sequentialToo = Environment.GetEnvironmentVariable("QGA_BENCH_SEQUENTIAL") != "0";
var rnd = new Random(42);
var system = ActorSystem.Create("bench", config);
try
{
    if (args.Length > 0 && args[0] == "journal") { await Probes.Journal(system); return; }
    if (args.Length > 0 && args[0] == "pure") { Probes.Pure(system); return; }
    if (args.Length > 0 && args[0] == "build") { Probes.Build(system); return; }

    Console.WriteLine($"load average at start: {LoadAverage()} (1/5/15 min); timer: {(Environment.GetEnvironmentVariable("QGA_BENCH_TIMER") == "task" ? "Task.Delay" : "Akka scheduler")}; journal: {(Environment.GetEnvironmentVariable("QGA_BENCH_INMEM") == "1" ? "in-memory" : "SQLite")}");
    var settings = new SagaManager.Settings
    {
        Saga = FreezeSnapshotThaw.Settings.Default with { Qmp = new QmpSnapshotProvider(dir), RequestTimeout = TimeSpan.FromSeconds(30) },
    };
    var lateness = system.ActorOf(Props.Create(() => new SchedulerLateness()), "lateness");
    var late = (SchedulerLateness.Result)await lateness.Ask(500, TimeSpan.FromMinutes(1));
    Console.WriteLine($"scheduler lateness over 500 tells of 1..5 ms: mean {late.MeanMs:F2} ms, max {late.MaxMs:F2} ms");
    Console.WriteLine("  VMs | runs | overhead median / max | window median | slowest guest own median | overhead vs 3 x nominal median | sequential loop | sequential / window");
    foreach (var n in sizes)
    {
        var runs = runsOverride ?? (n <= 10 ? 20 : n <= 100 ? 10 : 5);
        var guests = Enumerable.Range(0, n).Select(i => new SimGuest($"vm{i:D4}", TimeSpan.FromMilliseconds(rnd.Next(1, 6)))).ToList();
        var fleet = system.ActorOf(SimFleet.Props(guests), $"fleet-{n}");
        var manager = system.ActorOf(SagaManager.Props(fleet, settings), $"sagas-{n}");
        var inbox = Inbox.Create(system);
        var nominal = TimeSpan.FromMilliseconds(3 * guests.Max(g => g.Latency.TotalMilliseconds));
        List<double> overheads = [], windows = [], owns = [], nominals = [];
        var phases = new List<double[]>();

        for (var run = 0; run <= runs; run++) // run 0: warm-up (JIT, SQLite schema), not counted
        {
            foreach (var g in guests) g.ResetOwn();
            manager.Tell(new SagaManager.StartFreeze($"run{run}-{n}", SnapshotMode.Qmp, "bench", inbox.Receiver, VmIds: guests.Select(g => g.Id).ToList()), inbox.Receiver);
            FreezeSnapshotThawState state;
            while (true)
            {
                var msg = await inbox.ReceiveAsync(TimeSpan.FromMinutes(2));
                if (msg is FreezeSnapshotThaw.Finished f) { state = f.State; break; }
            }
            if (state.Outcome != SagaOutcome.Completed || guests.Any(g => g.Frozen || g.SnapshotsWhileThawed > 0 || g.Freezes != run + 1 || g.Thaws != run + 1))
                throw new InvalidOperationException($"saga did not complete: {state.EndReason}");
            if (run == 0) continue;
            var window = state.GroupWindow!.Value;
            var slowest = guests.Max(g => g.Own);
            overheads.Add((window - slowest).TotalMilliseconds);
            windows.Add(window.TotalMilliseconds);
            owns.Add(slowest.TotalMilliseconds);
            nominals.Add((window - nominal).TotalMilliseconds);
            phases.Add(Phases(state, guests));
        }

        var sequential = sequentialToo ? await Sequential(fleet, guests, inbox) : (TimeSpan?)null;
        var seq = sequential is { } s ? $"{s.TotalMilliseconds,10:F0} ms | {s.TotalMilliseconds / Median(windows),6:F0} x" : "  (skipped) |";
        Console.WriteLine($"{n,5} | {runs,4} | {Median(overheads),8:F1} / {overheads.Max(),6:F1} ms | {Median(windows),10:F1} ms | {Median(owns),8:F1} ms | {Median(nominals),8:F1} ms | {seq}");
        Console.WriteLine($"      overhead per run: {string.Join(" ", overheads.Select(o => o.ToString("F1")))} ms");
        Console.WriteLine("      phases (medians, ms; decided → first VM took it / first → last VM took it / last timer fired → decided / whole step):");
        foreach (var (step, k) in new[] { ("freeze", 0), ("snapshot", 1), ("thaw", 2) })
        {
            double M(int i) => Median(phases.Select(p => p[4 * k + i]));
            Console.WriteLine($"        {step,-8} {M(0),6:F2} / {M(1),6:F2} / {M(2),6:F2} / {M(3),7:F2}");
        }
    }
    Console.WriteLine($"load average at end: {LoadAverage()}");
}
finally
{
    await system.Terminate();
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
}

static async Task<TimeSpan> Sequential(IActorRef fleet, IReadOnlyList<SimGuest> guests, Inbox inbox)
{
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
    return sw.Elapsed;
}

// Per step (freeze, snapshot, thaw), 4 figures in ms: decided → first VM took the request; first → last VM took it;
// last VM's timer fired → the saga decided the step's last reply; the whole step (decided → last reply decided).
static double[] Phases(FreezeSnapshotThawState s, IReadOnlyList<SimGuest> guests)
{
    var t = s.Tracks.Where(v => v.FreezeStartedAt is not null).ToList();
    DateTimeOffset[] starts = [t.Min(v => v.FreezeStartedAt!.Value), t.Max(v => v.FrozenAt!.Value), t.Max(v => v.SnapshotAt!.Value)];
    DateTimeOffset[] ends = [starts[1], starts[2], t.Max(v => v.ThawedAt!.Value)];
    var result = new double[12];
    for (var k = 0; k < 3; k++)
    {
        var firstIn = guests.Min(g => g.Taken[k]);
        var lastIn = guests.Max(g => g.Taken[k]);
        var lastFired = guests.Max(g => g.Fired[k]);
        result[4 * k] = (firstIn - starts[k]).TotalMilliseconds;
        result[4 * k + 1] = (lastIn - firstIn).TotalMilliseconds;
        result[4 * k + 2] = (ends[k] - lastFired).TotalMilliseconds;
        result[4 * k + 3] = (ends[k] - starts[k]).TotalMilliseconds;
    }
    return result;
}

static double Median(IEnumerable<double> xs)
{
    var a = xs.Order().ToArray();
    return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
}

static string LoadAverage()
{
    try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
    catch (IOException) { return "n/a"; }
}
