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
using QgaOrchestrator.Sagas.Tests;

// Simulated VMs answer every command after a per-VM latency (1..5 ms). For each fleet size:
//  saga:       group window (first freeze sent → last thaw confirmed, from the saga's own timeline),
//              minus the slowest guest's own freeze+snapshot+thaw time (3 × its latency)
//  sequential: freeze → snapshot → thaw one VM after the other (the Proxmox/libvirt loop), same fleet.
var dir = Path.Combine(Path.GetTempPath(), "qga-saga-bench-" + Guid.NewGuid().ToString("N"));
var config = SagaPersistence.Sqlite(dir).WithFallback(ConfigurationFactory.ParseString("""
    akka.loglevel = WARNING
    """));
var sizes = args.Length > 0 ? args.Select(int.Parse).ToArray() : [10, 100, 1000];
var rnd = new Random(42);
var system = ActorSystem.Create("bench", config);
try
{
    var settings = new SagaManager.Settings
    {
        Saga = FreezeSnapshotThaw.Settings.Default with { Qmp = new QmpSnapshotProvider(dir), RequestTimeout = TimeSpan.FromSeconds(30) },
    };
    Console.WriteLine("VMs | saga group window | slowest guest own | saga overhead | sequential loop");
    foreach (var n in sizes)
    {
        var guests = new FakeGuests();
        for (var i = 0; i < n; i++) guests.Add($"vm{i:D4}").Latency = TimeSpan.FromMilliseconds(rnd.Next(1, 6));
        var fleet = system.ActorOf(FakeFleet.Props(guests), $"fleet-{n}");
        var manager = system.ActorOf(SagaManager.Props(fleet, settings), $"sagas-{n}");
        var inbox = Inbox.Create(system);

        // warm-up run (JIT, SQLite schema), then the measured run
        FreezeSnapshotThawState? state = null;
        foreach (var run in new[] { "warm", "run" })
        {
            manager.Tell(new SagaManager.StartFreeze($"{run}-{n}", SnapshotMode.Qmp, "bench", inbox.Receiver, VmIds: guests.Guests.Keys.ToList()), inbox.Receiver);
            while (true)
            {
                var msg = await inbox.ReceiveAsync(TimeSpan.FromMinutes(2));
                if (msg is FreezeSnapshotThaw.Finished f) { state = f.State; break; }
            }
        }
        if (state!.Outcome != SagaOutcome.Completed || guests.AnyFrozen) throw new InvalidOperationException($"saga did not complete: {state.EndReason}");
        var window = state.GroupWindow!.Value;
        var slowest = TimeSpan.FromMilliseconds(3 * guests.Guests.Values.Max(g => g.Latency.TotalMilliseconds));

        var sw = Stopwatch.StartNew();
        foreach (var g in guests.Guests.Values)
        {
            fleet.Tell(new Vm.Execute(g.Id, QgaCommands.GuestFsfreezeFreeze, null, "f", inbox.Receiver));
            await inbox.ReceiveAsync(TimeSpan.FromSeconds(10));
            fleet.Tell(new Vm.ExecuteQmp(g.Id, "transaction", null, "s", inbox.Receiver));
            await inbox.ReceiveAsync(TimeSpan.FromSeconds(10));
            fleet.Tell(new Vm.Execute(g.Id, QgaCommands.GuestFsfreezeThaw, null, "t", inbox.Receiver));
            await inbox.ReceiveAsync(TimeSpan.FromSeconds(10));
        }
        var sequential = sw.Elapsed;
        Console.WriteLine($"{n,5} | {window.TotalMilliseconds,10:F1} ms | {slowest.TotalMilliseconds,8:F1} ms | {(window - slowest).TotalMilliseconds,8:F1} ms | {sequential.TotalMilliseconds,10:F1} ms");
    }
}
finally
{
    await system.Terminate();
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    Directory.Delete(dir, recursive: true);
}
