using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Persistence;
using QgaOrchestrator.Core.Sagas;

namespace QgaOrchestrator.Sagas.Tests;

/// <summary>
/// The FreezeSnapshotThaw saga end to end: the real fleet, VM and channel actors, three real qga-agent
/// processes each confined to its own loop-mounted ext4 (<see cref="RealGuests"/>), and a SQLite journal file.
/// </summary>
public sealed class RealAgentSagaSpec : IDisposable
{
    private readonly RealGuests _guests = new("qga-saga-real-");

    [RealAgentFact]
    public async Task FreezeSnapshotThaw_must_hold_every_real_guest_frozen_until_the_snapshot_is_done_then_thaw_all()
    {
        var vms = new[] { "g1", "g2", "g3" }.Select(id => _guests.Start(id)).ToList();
        var system = ActorSystem.Create("real", SagaPersistence.Sqlite(_guests.Dir).WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING")));
        try
        {
            var probe = new TestProbe(system, new XunitAssertions());
            var fleet = system.ActorOf(FleetManager.Props(new FleetManager.Settings { Vms = vms }), FleetManager.ActorName);
            var manager = system.ActorOf(SagaManager.Props(fleet, new SagaManager.Settings()), "sagas");

            manager.Tell(new SagaManager.StartFreeze("real-1", SnapshotMode.External, "nightly", probe.Ref,
                VmIds: vms.Select(v => v.Id).ToList(), Deadline: TimeSpan.FromSeconds(30)));
            await probe.ExpectMsgAsync<FreezeSnapshotThaw.Started>(TimeSpan.FromSeconds(20));
            var allFrozen = await probe.ExpectMsgAsync<FreezeSnapshotThaw.AllFrozen>(TimeSpan.FromSeconds(30));
            Assert.Equal(["g1", "g2", "g3"], allFrozen.VmIds.Order().ToArray());

            // The kernel agrees: every guest's filesystem blocks writes while the saga holds the freeze.
            var writers = _guests.Ids.Select(_guests.StartWriter).ToList();
            Assert.All(writers, w => Assert.False(w.WaitForExit(300), "a write went through while frozen"));

            manager.Tell(new SagaManager.SnapshotDone("real-1"));
            var finished = await probe.FishForMessageAsync<FreezeSnapshotThaw.Finished>(m => m is FreezeSnapshotThaw.Finished, TimeSpan.FromSeconds(30));
            Assert.Equal(SagaOutcome.Completed, finished.Outcome);
            Assert.All(writers, w => Assert.True(w.WaitForExit(10_000), "a write stayed blocked after the thaw"));
            foreach (var vm in finished.State.Vms.Values)
            {
                Assert.NotNull(vm.FrozenAt);
                Assert.NotNull(vm.ThawedAt);
            }
        }
        finally
        {
            await system.Terminate();
        }
    }

    [RealAgentFact]
    public async Task FreezeSnapshotThaw_must_thaw_every_real_guest_when_the_deadline_passes_without_a_snapshot()
    {
        var vms = new[] { "d1", "d2" }.Select(id => _guests.Start(id)).ToList();
        var system = ActorSystem.Create("real-deadline", SagaPersistence.Sqlite(_guests.Dir).WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING")));
        try
        {
            var probe = new TestProbe(system, new XunitAssertions());
            var fleet = system.ActorOf(FleetManager.Props(new FleetManager.Settings { Vms = vms }), FleetManager.ActorName);
            var manager = system.ActorOf(SagaManager.Props(fleet, new SagaManager.Settings()), "sagas");

            manager.Tell(new SagaManager.StartFreeze("real-2", SnapshotMode.External, "nightly", probe.Ref,
                VmIds: vms.Select(v => v.Id).ToList(), Deadline: TimeSpan.FromSeconds(3)));
            await probe.FishForMessageAsync(m => m is FreezeSnapshotThaw.AllFrozen, TimeSpan.FromSeconds(30));
            var writers = _guests.Ids.Select(_guests.StartWriter).ToList();
            Assert.All(writers, w => Assert.False(w.WaitForExit(300), "a write went through while frozen"));

            // No SnapshotDone: the deadline must end the saga and thaw everything.
            var finished = await probe.FishForMessageAsync<FreezeSnapshotThaw.Finished>(m => m is FreezeSnapshotThaw.Finished, TimeSpan.FromSeconds(30));
            Assert.NotEqual(SagaOutcome.Completed, finished.Outcome);
            Assert.All(writers, w => Assert.True(w.WaitForExit(10_000), "a write stayed blocked after the deadline"));
        }
        finally
        {
            await system.Terminate();
        }
    }

    public void Dispose() => _guests.Dispose();
}
