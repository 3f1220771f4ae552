using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Microsoft.Data.Sqlite;
using QgaOrchestrator.Core.Persistence;
using QgaOrchestrator.Core.Sagas;
using QgaOrchestrator.Core.Snapshots;

namespace QgaOrchestrator.Sagas.Tests;

/// <summary>
/// The orchestrator (a whole ActorSystem) is terminated at each step of a saga and started again on the
/// same SQLite journal FILE; the guests (shared fakes) keep their frozen state across the "crash".
/// Every guest must end thawed and the saga must end Aborted or Completed.
/// </summary>
public sealed class SagaCrashSpec : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "qga-saga-crash-" + Guid.NewGuid().ToString("N"));

    private static readonly SagaManager.Settings ManagerSettings = new()
    {
        Saga = FreezeSnapshotThaw.Settings.Default with
        {
            RequestTimeout = TimeSpan.FromSeconds(2),
            ThawRetryMin = TimeSpan.FromMilliseconds(20),
            ThawRetryMax = TimeSpan.FromMilliseconds(100),
            Qmp = new QmpSnapshotProvider("/var/lib/qga-snaps"),
        },
        RestartBackoff = TimeSpan.FromMilliseconds(100),
    };

    private ActorSystem NewSystem(string name) => ActorSystem.Create(name,
        SagaPersistence.Sqlite(_dir).WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING")));

    public enum CrashPoint { AfterFreezeRequested, AfterAllFrozen, DuringSnapshot, DuringThaw }

    [Theory]
    [InlineData(CrashPoint.AfterFreezeRequested)]
    [InlineData(CrashPoint.AfterAllFrozen)]
    [InlineData(CrashPoint.DuringSnapshot)]
    [InlineData(CrashPoint.DuringThaw)]
    public async Task Saga_must_leave_every_guest_thawed_after_an_orchestrator_crash(CrashPoint point)
    {
        var guests = new FakeGuests("a", "b", "c");
        var mode = point == CrashPoint.AfterAllFrozen ? SnapshotMode.External : SnapshotMode.Qmp;
        if (point == CrashPoint.AfterFreezeRequested) foreach (var g in guests.Guests.Values) g.HangFreeze = true;
        if (point == CrashPoint.DuringSnapshot) foreach (var g in guests.Guests.Values) g.HangSnapshot = true;
        if (point == CrashPoint.DuringThaw) guests["b"].FailThaws = int.MaxValue;

        // run 1: drive the saga to the crash point, then kill the whole system
        var sys1 = NewSystem("crash1");
        var probe1 = new TestProbe(sys1, new XunitAssertions());
        var fleet1 = sys1.ActorOf(FakeFleet.Props(guests), "fleet");
        var manager1 = sys1.ActorOf(SagaManager.Props(fleet1, ManagerSettings), "sagas");
        manager1.Tell(new SagaManager.StartFreeze("crash-" + point, mode, "nightly", probe1.Ref, VmIds: ["a", "b", "c"]));
        await probe1.ExpectMsgAsync<FreezeSnapshotThaw.Started>(TimeSpan.FromSeconds(10));
        await probe1.AwaitConditionAsync(() => Task.FromResult(point switch
        {
            CrashPoint.AfterFreezeRequested => guests.Guests.Values.All(g => g.Frozen),
            CrashPoint.AfterAllFrozen => guests.Guests.Values.All(g => g.Frozen) && guests.Log.Count(l => l.Contains("fsfreeze-freeze", StringComparison.Ordinal)) == 3,
            CrashPoint.DuringSnapshot => guests.Log.Count(l => l.Contains(":transaction:", StringComparison.Ordinal)) == 3,
            _ => guests.Log.Count(l => l == "b:guest-fsfreeze-thaw") >= 2 && !guests["a"].Frozen,
        }), TimeSpan.FromSeconds(10));
        if (point == CrashPoint.AfterAllFrozen) await probe1.ExpectMsgAsync<FreezeSnapshotThaw.AllFrozen>();
        await sys1.Terminate();
        Assert.True(guests.AnyFrozen, "the crash must happen while something is frozen");

        // the guests come back to normal behaviour; only the orchestrator restarted
        foreach (var g in guests.Guests.Values) { g.HangFreeze = g.HangSnapshot = false; g.FailThaws = 0; }

        // run 2: same SQLite file; the manager resumes the unfinished saga, whose recovery thaws first
        var sys2 = NewSystem("crash2");
        try
        {
            var probe2 = new TestProbe(sys2, new XunitAssertions());
            var fleet2 = sys2.ActorOf(FakeFleet.Props(guests), "fleet");
            var manager2 = sys2.ActorOf(SagaManager.Props(fleet2, ManagerSettings), "sagas");
            await probe2.AwaitAssertAsync(async () =>
            {
                manager2.Tell(new SagaManager.ListSagas(probe2.Ref));
                var list = await probe2.ExpectMsgAsync<SagaManager.SagaList>();
                Assert.NotNull(Assert.Single(list.Sagas).Outcome);
            }, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(100));
            Assert.False(guests.AnyFrozen);

            manager2.Tell(new SagaManager.GetSaga("crash-" + point, probe2.Ref));
            var state = (await probe2.ExpectMsgAsync<FreezeSnapshotThaw.CurrentState>()).State;
            var expected = point == CrashPoint.DuringThaw ? SagaOutcome.Completed : SagaOutcome.Aborted;
            Assert.Equal(expected, state.Outcome);
            Assert.All(state.Tracks, t => Assert.True(t.ThawConfirmed));
        }
        finally
        {
            await sys2.Terminate();
        }
    }

    [Fact]
    public async Task SagaManager_must_list_and_answer_sagas_from_the_sqlite_file_after_restart()
    {
        var guests = new FakeGuests("a", "b");
        var sys1 = NewSystem("q1");
        var probe1 = new TestProbe(sys1, new XunitAssertions());
        var fleet1 = sys1.ActorOf(FakeFleet.Props(guests));
        var m1 = sys1.ActorOf(SagaManager.Props(fleet1, ManagerSettings), "sagas");
        m1.Tell(new SagaManager.StartFreeze("done-1", SnapshotMode.Qmp, "n", probe1.Ref, VmIds: ["a", "b"]));
        await probe1.ExpectMsgAsync<FreezeSnapshotThaw.Started>();
        Assert.Equal(SagaOutcome.Completed, (await probe1.ExpectMsgAsync<FreezeSnapshotThaw.Finished>()).Outcome);
        m1.Tell(new SagaManager.StartFreeze("done-1", SnapshotMode.Qmp, "n", probe1.Ref, VmIds: ["a"]));
        await probe1.ExpectMsgAsync<SagaManager.Rejected>();
        await sys1.Terminate();

        var sys2 = NewSystem("q2");
        try
        {
            var probe2 = new TestProbe(sys2, new XunitAssertions());
            var m2 = sys2.ActorOf(SagaManager.Props(sys2.ActorOf(FakeFleet.Props(guests)), ManagerSettings), "sagas");
            await probe2.AwaitAssertAsync(async () =>
            {
                m2.Tell(new SagaManager.ListSagas(probe2.Ref));
                var list = await probe2.ExpectMsgAsync<SagaManager.SagaList>();
                Assert.Equal(SagaOutcome.Completed, Assert.Single(list.Sagas).Outcome);
            }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
            m2.Tell(new SagaManager.GetSaga("done-1", probe2.Ref));
            var state = (await probe2.ExpectMsgAsync<FreezeSnapshotThaw.CurrentState>()).State;
            Assert.All(state.Tracks, t => Assert.True(t.SnapshotTaken && t.FreezeWindow is not null));
            m2.Tell(new SagaManager.GetSaga("nope", probe2.Ref));
            await probe2.ExpectMsgAsync<SagaManager.UnknownSaga>();
            Assert.Equal(1, guests["a"].Freezes); // recovery of a completed saga sends nothing
        }
        finally
        {
            await sys2.Terminate();
        }
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }
}
