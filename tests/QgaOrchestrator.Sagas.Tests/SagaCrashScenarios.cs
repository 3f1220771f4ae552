using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using QgaOrchestrator.Core.Sagas;
using QgaOrchestrator.Core.Snapshots;

namespace QgaOrchestrator.Sagas.Tests;

public enum CrashPoint { AfterFreezeRequested, AfterAllFrozen, DuringSnapshot, DuringThaw }

/// <summary>
/// The crash-and-restart scenarios, run against any journal: <c>newSystem(name)</c> must return an
/// ActorSystem on the SAME journal each time (a SQLite file, a PostgreSQL schema). The guests (shared
/// fakes) keep their frozen state across the "crash".
/// </summary>
internal static class SagaCrashScenarios
{
    public static readonly SagaManager.Settings ManagerSettings = new()
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

    /// <summary>Terminates the whole system at <paramref name="point"/>, restarts it: every guest ends thawed, the saga Aborted or Completed.</summary>
    public static async Task CrashAndRecoverAsync(Func<string, ActorSystem> newSystem, CrashPoint point)
    {
        var guests = new FakeGuests("a", "b", "c");
        var mode = point == CrashPoint.AfterAllFrozen ? SnapshotMode.External : SnapshotMode.Qmp;
        if (point == CrashPoint.AfterFreezeRequested) foreach (var g in guests.Guests.Values) g.HangFreeze = true;
        if (point == CrashPoint.DuringSnapshot) foreach (var g in guests.Guests.Values) g.HangSnapshot = true;
        if (point == CrashPoint.DuringThaw) guests["b"].FailThaws = int.MaxValue;
        var sagaId = "crash-" + point;

        // run 1: drive the saga to the crash point, then kill the whole system
        var sys1 = newSystem("crash1");
        var probe1 = new TestProbe(sys1, new XunitAssertions());
        var fleet1 = sys1.ActorOf(FakeFleet.Props(guests), "fleet");
        var manager1 = sys1.ActorOf(SagaManager.Props(fleet1, ManagerSettings), "sagas");
        manager1.Tell(new SagaManager.StartFreeze(sagaId, mode, "nightly", probe1.Ref, VmIds: ["a", "b", "c"]));
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

        // run 2: same journal; the manager resumes the unfinished saga, whose recovery thaws first
        var sys2 = newSystem("crash2");
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

            manager2.Tell(new SagaManager.GetSaga(sagaId, probe2.Ref));
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

    /// <summary>A finished saga is listed and answered from the journal by a restarted manager, and recovering it sends nothing.</summary>
    public static async Task ListAndGetAfterRestartAsync(Func<string, ActorSystem> newSystem)
    {
        var guests = new FakeGuests("a", "b");
        var sys1 = newSystem("q1");
        var probe1 = new TestProbe(sys1, new XunitAssertions());
        var fleet1 = sys1.ActorOf(FakeFleet.Props(guests));
        var m1 = sys1.ActorOf(SagaManager.Props(fleet1, ManagerSettings), "sagas");
        m1.Tell(new SagaManager.StartFreeze("done-1", SnapshotMode.Qmp, "n", probe1.Ref, VmIds: ["a", "b"]));
        await probe1.ExpectMsgAsync<FreezeSnapshotThaw.Started>(TimeSpan.FromSeconds(20)); // the first write creates the tables
        Assert.Equal(SagaOutcome.Completed, (await probe1.ExpectMsgAsync<FreezeSnapshotThaw.Finished>(TimeSpan.FromSeconds(10))).Outcome);
        m1.Tell(new SagaManager.StartFreeze("done-1", SnapshotMode.Qmp, "n", probe1.Ref, VmIds: ["a"]));
        await probe1.ExpectMsgAsync<SagaManager.Rejected>();
        await sys1.Terminate();

        var sys2 = newSystem("q2");
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
}
