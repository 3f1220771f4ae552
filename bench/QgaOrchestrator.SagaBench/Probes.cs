using System.Diagnostics;
using Akka.Actor;
using QgaOrchestrator.Core.Sagas;

namespace QgaOrchestrator.SagaBench;

/// <summary>The bench's side modes: raw journal write latency and the state machine alone.</summary>
internal static class Probes
{
    /// <summary>`journal`: latency of one PersistAll of n events (one row per event), then of one JournalBatch row of n events (as the saga writes).</summary>
    public static async Task Journal(ActorSystem system)
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
        foreach (var n in new[] { 1, 1, 10, 200, 2000, 1, 10, 200, 2000, 1, 10, 200, 2000 })
        {
            var sw = Stopwatch.StartNew();
            writer.Tell(-n, probe.Receiver);
            await probe.ReceiveAsync(TimeSpan.FromMinutes(1));
            Console.WriteLine($"one JournalBatch row of {n} events: {sw.Elapsed.TotalMilliseconds:F2} ms");
        }
    }

    /// <summary>`pure`: Decide/Apply CPU per phase, then serialization of every event (8 rounds: the first ones run unoptimized JIT code).</summary>
    public static void Pure(ActorSystem system)
    {
        foreach (var n in new[] { 100, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000 })
        {
            var ids = Enumerable.Range(0, n).Select(i => $"vm{i:D4}").ToList();
            var now = DateTimeOffset.UtcNow;
            var st = FreezeSnapshotThawState.Empty;
            var all = new List<IFreezeSagaEvent>();
            void Feed(SagaInput input) { var (ev, next) = st.DecideAndApply(input, now); st = next; all.AddRange(ev); }
            var swp = Stopwatch.StartNew();
            Feed(new SagaInput.Begin("s", ids, SnapshotMode.Qmp, "x", TimeSpan.FromMinutes(1), UnavailablePolicy.FailGroup, new Dictionary<string, IReadOnlyList<string>>(), [], ids.ToDictionary(i => i, i => (IReadOnlyList<string>)["drive0"])));
            var t0 = swp.Elapsed;
            foreach (var id in ids.SkipLast(1)) Feed(new SagaInput.StatusObserved(id, "thawed", null));
            var lastStatus = swp.Elapsed;
            Feed(new SagaInput.StatusObserved(ids[^1], "thawed", null)); // decides a freeze request per VM
            var t1 = swp.Elapsed;
            foreach (var id in ids) Feed(new SagaInput.FreezeObserved(id, 2, null));
            var t2 = swp.Elapsed;
            foreach (var id in ids.SkipLast(1)) Feed(new SagaInput.SnapshotObserved(id, null));
            var lastSnap = swp.Elapsed;
            Feed(new SagaInput.SnapshotObserved(ids[^1], null)); // decides a thaw request per VM
            var t3 = swp.Elapsed;
            foreach (var id in ids) Feed(new SagaInput.ThawObserved(id, 2, null));
            var t4 = swp.Elapsed;
            Console.WriteLine($"pure {n}: begin {t0.TotalMilliseconds:F1} status {(t1 - t0).TotalMilliseconds:F1} freeze {(t2 - t1).TotalMilliseconds:F1} snap {(t3 - t2).TotalMilliseconds:F1} thaw {(t4 - t3).TotalMilliseconds:F1} ms; {all.Count} events, ended {st.Phase}; the reply deciding all freezes {(t1 - lastStatus).TotalMilliseconds:F2} ms, all thaws {(t3 - lastSnap).TotalMilliseconds:F2} ms");
            var ser = system.Serialization;
            swp.Restart();
            long bytes = 0;
            foreach (var e in all) { var s = ser.FindSerializerFor(e); bytes += s.ToBinary(e).Length; }
            Console.WriteLine($"  serialize all with {ser.FindSerializerFor(all[^1]).GetType().Name}: {swp.Elapsed.TotalMilliseconds:F1} ms, {bytes} bytes");
        }
    }

    /// <summary>`build`: CPU of building the per-VM snapshot transactions and serializing journal batches.</summary>
    public static void Build(ActorSystem system)
    {
        var provider = new QgaOrchestrator.Core.Snapshots.QmpSnapshotProvider("/var/lib/qga/snapshots");
        var ids = Enumerable.Range(0, 1000).Select(i => $"vm{i:D4}").ToList();
        var now = DateTimeOffset.UtcNow;
        var batch = new QgaOrchestrator.Core.Persistence.JournalBatch([.. ids.Select(id => (QgaOrchestrator.Core.Persistence.IJournalEvent)new VmReadyToFreeze("s", id, now)),
            .. ids.Select(id => (QgaOrchestrator.Core.Persistence.IJournalEvent)new FreezeRequested("s", id, now))]);
        var ser = system.Serialization.FindSerializerFor(batch);
        for (var round = 0; round < 5; round++)
        {
            var sw = Stopwatch.StartNew();
            _ = QgaOrchestrator.Core.Snapshots.Internal.QmpSnapshotActor.Transactions(provider, "saga-1", "nightly", ids.Select(vm => (vm, (IReadOnlyList<string>)["drive0", "drive1"], (IReadOnlyList<string>)["drive0", "drive1"])).ToList());
            var t1 = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            var bytes = ser.ToBinary(batch);
            var t2 = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            _ = ((Akka.Serialization.SerializerWithStringManifest)ser).FromBinary(bytes, typeof(QgaOrchestrator.Core.Persistence.JournalBatch).FullName!);
            Console.WriteLine($"build 1000 QMP transactions: {t1:F2} ms; serialize a 2,000-event batch: {t2:F2} ms ({bytes.Length} bytes), read it back {sw.Elapsed.TotalMilliseconds:F2} ms");
        }
    }

    private sealed class BatchWriter : Akka.Persistence.ReceivePersistentActor
    {
        public override string PersistenceId => "batch-writer";
        public BatchWriter()
        {
            Command<int>(n => n < 0, n =>
            {
                var now = DateTimeOffset.UtcNow;
                var replyTo = Sender;
                var batch = new QgaOrchestrator.Core.Persistence.JournalBatch(Enumerable.Range(0, -n).Select(i => (QgaOrchestrator.Core.Persistence.IJournalEvent)new FreezeRequested("s", $"vm{i:D4}", now)).ToList());
                PersistAsync(batch, _ => replyTo.Tell("done"));
            });
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
}

/// <summary>How late the scheduler delivers a 1..5 ms ScheduleTellOnce (the simulated guests' replies).</summary>
internal sealed class SchedulerLateness : ReceiveActor
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
