using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Microsoft.Data.Sqlite;
using QgaOrchestrator.Core.Persistence;
using QgaOrchestrator.Core.Sagas;

namespace QgaOrchestrator.Sagas.Tests;

/// <summary>
/// The orchestrator (a whole ActorSystem) is terminated at a step of a power saga and started again on
/// the same SQLite journal FILE; the guests (shared fakes) keep their state across the "crash". The
/// recovered saga must continue or end with a clear per-VM outcome, never re-send a power command and
/// never report a VM done without QEMU's evidence.
/// </summary>
public sealed class PowerSagaCrashSpec : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "qga-power-crash-" + Guid.NewGuid().ToString("N"));

    private static readonly SagaManager.Settings ManagerSettings = new()
    {
        Power = PowerSaga.Settings.Default with
        {
            RequestTimeout = TimeSpan.FromSeconds(2),
            PollInterval = TimeSpan.FromMilliseconds(50),
        },
        RestartBackoff = TimeSpan.FromMilliseconds(100),
    };

    private ActorSystem NewSystem(string name) => ActorSystem.Create(name,
        SagaPersistence.Sqlite(_dir).WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING")));

    public enum CrashPoint
    {
        /// <summary>query-current-machine unanswered: the checks are re-sent after the restart.</summary>
        DuringChecks,
        /// <summary>Suspend sent; the guest suspends while the orchestrator is down: confirmed by query-status.</summary>
        SentThenSuspendedWhileDown,
        /// <summary>Suspend sent and never carried out: the VM fails at its persisted deadline.</summary>
        SentNeverConfirmed,
        /// <summary>guest-shutdown ignored: after the restart the grace passes and the fallback powers it off (the 2 s grace outlasts the crash).</summary>
        ShutdownGraceThenFallback,
    }

    private static int Count(FakeGuests guests, string what) => guests.Log.Count(l => l.Contains(what, StringComparison.Ordinal));

    [Theory]
    [InlineData(CrashPoint.DuringChecks)]
    [InlineData(CrashPoint.SentThenSuspendedWhileDown)]
    [InlineData(CrashPoint.SentNeverConfirmed)]
    [InlineData(CrashPoint.ShutdownGraceThenFallback)]
    public async Task PowerSaga_must_continue_or_end_with_a_clear_outcome_after_an_orchestrator_crash(CrashPoint point)
    {
        var guests = new FakeGuests("a", "b", "c");
        var shutdown = point == CrashPoint.ShutdownGraceThenFallback;
        foreach (var g in guests.Guests.Values)
        {
            g.HangChecks = point == CrashPoint.DuringChecks;
            g.IgnorePower = point != CrashPoint.DuringChecks;
        }
        var command = shutdown ? "guest-shutdown" : "guest-suspend-ram";
        var id = "crash-" + point;

        // run 1: drive the saga to the crash point, then kill the whole system
        var sys1 = NewSystem("power1");
        var probe1 = new TestProbe(sys1, new XunitAssertions());
        var manager1 = sys1.ActorOf(SagaManager.Props(sys1.ActorOf(FakeFleet.Props(guests), "fleet"), ManagerSettings), "sagas");
        manager1.Tell(shutdown
            ? new SagaManager.StartShutdown(id, ShutdownMode.Powerdown, probe1.Ref, VmIds: ["a", "b", "c"], Grace: TimeSpan.FromSeconds(2), Fallback: true)
            : new SagaManager.StartSuspend(id, SuspendMode.Ram, probe1.Ref, VmIds: ["a", "b", "c"], Timeout: TimeSpan.FromSeconds(1)));
        await probe1.ExpectMsgAsync<PowerSaga.Started>(TimeSpan.FromSeconds(10));
        await probe1.AwaitConditionAsync(() => Task.FromResult(point == CrashPoint.DuringChecks
            ? Count(guests, ":query-current-machine:") == 3
            : Count(guests, ":" + command) == 3), TimeSpan.FromSeconds(10));
        await sys1.Terminate();

        // what the guests do while the orchestrator is down
        foreach (var g in guests.Guests.Values)
        {
            g.HangChecks = false;
            if (point == CrashPoint.SentThenSuspendedWhileDown) g.RunState = "suspended";
            if (point == CrashPoint.DuringChecks) g.IgnorePower = false;
        }

        // run 2: same SQLite file; the manager resumes the unfinished saga
        var sys2 = NewSystem("power2");
        try
        {
            var probe2 = new TestProbe(sys2, new XunitAssertions());
            var manager2 = sys2.ActorOf(SagaManager.Props(sys2.ActorOf(FakeFleet.Props(guests), "fleet"), ManagerSettings), "sagas");
            await probe2.AwaitAssertAsync(async () =>
            {
                manager2.Tell(new SagaManager.ListSagas(probe2.Ref));
                var list = await probe2.ExpectMsgAsync<SagaManager.SagaList>();
                var summary = Assert.Single(list.Sagas);
                Assert.Equal(shutdown ? SagaKind.Shutdown : SagaKind.Suspend, summary.Kind);
                Assert.NotNull(summary.Outcome);
            }, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(100));

            manager2.Tell(new SagaManager.GetSaga(id, probe2.Ref));
            var state = (await probe2.ExpectMsgAsync<PowerSaga.CurrentState>()).State;
            var why = string.Join(" | ", state.Tracks.Select(t => $"{t.VmId}: {string.Join("; ", t.Timeline.Select(e => e.What))}"));
            Assert.True(state.Recoveries >= 1, why);
            Assert.Equal(3, Count(guests, ":" + command)); // never re-sent
            switch (point)
            {
                case CrashPoint.DuringChecks:
                    Assert.Equal(SagaOutcome.Completed, state.Outcome);
                    Assert.All(state.Tracks, t => Assert.Equal("SUSPEND event", t.Evidence));
                    break;
                case CrashPoint.SentThenSuspendedWhileDown:
                    Assert.Equal(SagaOutcome.Completed, state.Outcome);
                    Assert.All(state.Tracks, t => Assert.Equal("query-status: suspended", t.Evidence));
                    break;
                case CrashPoint.SentNeverConfirmed:
                    Assert.Equal(SagaOutcome.Failed, state.Outcome);
                    Assert.All(state.Tracks, t => Assert.Equal("guest-suspend-ram: not confirmed within 1 s (query-status: running)"
                        + "; the orchestrator restarted meanwhile, so it may never have reached the VM", t.Reason));
                    break;
                case CrashPoint.ShutdownGraceThenFallback:
                    Assert.True(state.Outcome == SagaOutcome.Completed, why);
                    Assert.All(state.Tracks, t => Assert.Equal("SHUTDOWN event after system_powerdown", t.Evidence));
                    Assert.Equal(3, Count(guests, ":system_powerdown:"));
                    break;
            }
        }
        finally
        {
            await sys2.Terminate();
        }
    }

    [Fact]
    public async Task SagaManager_must_run_list_and_answer_power_sagas_next_to_freeze_sagas()
    {
        var guests = new FakeGuests("a", "b");
        guests["a"].Labels = new Dictionary<string, string> { ["tier"] = "db" };
        var sys = NewSystem("power-manager");
        try
        {
            var probe = new TestProbe(sys, new XunitAssertions());
            var m = sys.ActorOf(SagaManager.Props(sys.ActorOf(FakeFleet.Props(guests)), ManagerSettings), "sagas");
            m.Tell(new SagaManager.StartShutdown("bad", ShutdownMode.Reboot, probe.Ref, VmIds: ["a"], Fallback: true));
            Assert.Contains("not reboot", (await probe.ExpectMsgAsync<SagaManager.Rejected>()).Reason);
            m.Tell(new SagaManager.StartSuspend("bad", SuspendMode.Disk, probe.Ref, VmIds: ["a"], Timeout: TimeSpan.Zero));
            Assert.Contains("positive", (await probe.ExpectMsgAsync<SagaManager.Rejected>()).Reason);

            m.Tell(new SagaManager.StartSuspend("s1", SuspendMode.Ram, probe.Ref, LabelSelector: new Dictionary<string, string> { ["tier"] = "db" }));
            await probe.ExpectMsgAsync<PowerSaga.Started>();
            var suspended = await probe.ExpectMsgAsync<PowerSaga.Finished>();
            Assert.Equal(["a"], suspended.State.Order);
            Assert.Equal(SagaOutcome.Completed, suspended.Outcome);

            m.Tell(new SagaManager.StartResume("r1", probe.Ref, VmIds: ["a"]));
            await probe.ExpectMsgAsync<PowerSaga.Started>();
            Assert.Equal(SagaOutcome.Completed, (await probe.ExpectMsgAsync<PowerSaga.Finished>()).Outcome);

            m.Tell(new SagaManager.StartFreeze("f1", SnapshotMode.External, "n", probe.Ref, VmIds: ["b"]));
            await probe.ExpectMsgAsync<FreezeSnapshotThaw.Started>();
            await probe.ExpectMsgAsync<FreezeSnapshotThaw.AllFrozen>();
            m.Tell(new SagaManager.SnapshotDone("r1"), probe.Ref);
            await probe.ExpectMsgAsync<SagaManager.Rejected>();
            m.Tell(new SagaManager.Abort("f1", "test"), probe.Ref);
            await probe.ExpectMsgAsync<FreezeSnapshotThaw.Finished>();

            await probe.AwaitAssertAsync(async () =>
            {
                m.Tell(new SagaManager.ListSagas(probe.Ref));
                var list = (await probe.ExpectMsgAsync<SagaManager.SagaList>()).Sagas;
                Assert.Equal([SagaKind.Suspend, SagaKind.Resume, SagaKind.FreezeSnapshotThaw], list.Select(s => s.Kind));
                Assert.All(list, s => Assert.NotNull(s.Outcome));
            }, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(50));
            m.Tell(new SagaManager.GetSaga("s1", probe.Ref));
            Assert.Equal(PowerOperation.SuspendRam, (await probe.ExpectMsgAsync<PowerSaga.CurrentState>()).State.Operation);
            m.Tell(new SagaManager.GetSaga("f1", probe.Ref));
            await probe.ExpectMsgAsync<FreezeSnapshotThaw.CurrentState>();
        }
        finally
        {
            await sys.Terminate();
        }
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }
}
