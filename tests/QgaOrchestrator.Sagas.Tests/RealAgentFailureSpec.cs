using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Persistence;
using QgaOrchestrator.Core.Sagas;
using QgaOrchestrator.Core.Snapshots;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Sagas.Tests;

/// <summary>
/// The saga's failure paths against real qga-agent processes on loop-mounted ext4 (<see cref="RealGuests"/>):
/// a freeze refused by one guest's fsfreeze hook, a failing snapshot command, and an agent SIGKILLed while
/// frozen. Each ends with the kernel's word that every filesystem is thawed.
/// </summary>
public sealed class RealAgentFailureSpec : IDisposable
{
    private readonly RealGuests _guests = new("qga-saga-fail-");
    private ActorSystem? _system;

    private static readonly FreezeSnapshotThaw.Settings Fast = FreezeSnapshotThaw.Settings.Default with
    {
        RequestTimeout = TimeSpan.FromSeconds(2),
        ThawRetryMin = TimeSpan.FromMilliseconds(200),
        ThawRetryMax = TimeSpan.FromSeconds(1),
    };

    /// <summary>The real fleet (channels reconnect within a second) and a saga manager on a SQLite file.</summary>
    private (IActorRef Manager, TestProbe Probe) StartOrchestrator(IReadOnlyList<VmConfig> vms, FreezeSnapshotThaw.Settings saga)
    {
        _system = ActorSystem.Create("real-fail", SagaPersistence.Sqlite(_guests.Dir).WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING")));
        var vm = Vm.Settings.Default with { Guest = Vm.Settings.Default.Guest with { ReconnectMaxBackoff = TimeSpan.FromSeconds(1) } };
        var fleet = _system.ActorOf(FleetManager.Props(new FleetManager.Settings { Vms = vms, Vm = vm }), FleetManager.ActorName);
        return (_system.ActorOf(SagaManager.Props(fleet, new SagaManager.Settings { Saga = saga }), "sagas"), new TestProbe(_system, new XunitAssertions()));
    }

    private static ValueTask<FreezeSnapshotThaw.Finished> FinishedAsync(TestProbe probe) =>
        probe.FishForMessageAsync<FreezeSnapshotThaw.Finished>(m => m is FreezeSnapshotThaw.Finished, TimeSpan.FromSeconds(30));

    [RealAgentFact]
    public async Task FreezeSnapshotThaw_must_fail_with_the_guests_reason_and_thaw_the_others_when_one_fsfreeze_hook_refuses()
    {
        var hook = Path.Combine(_guests.Dir, "refuse-freeze.sh");
        await File.WriteAllTextAsync(hook, "#!/bin/sh\n[ \"$1\" = freeze ] && exit 7\nexit 0\n");
        Assert.Equal(0, RealGuests.Sh($"chmod 700 {hook}"));
        var vms = new[] { _guests.Start("h1"), _guests.Start("h2", "-F" + hook), _guests.Start("h3") };
        var (manager, probe) = StartOrchestrator(vms, Fast);

        manager.Tell(new SagaManager.StartFreeze("hook-1", SnapshotMode.External, "nightly", probe.Ref, VmIds: ["h1", "h2", "h3"]));
        var finished = await FinishedAsync(probe);

        Assert.Equal(SagaOutcome.Failed, finished.Outcome);
        Assert.Equal("h2: freeze failed", finished.Reason);
        Assert.Contains("fsfreeze hook has failed with status 7", finished.State.Vms["h2"].Reason, StringComparison.Ordinal);
        Assert.All(finished.State.Tracks, t => Assert.True(t.ThawConfirmed, $"{t.VmId}: no confirmed thaw"));
        Assert.All(finished.State.Tracks, t => Assert.False(t.SnapshotTaken));
        _guests.AssertKernelThawedAll();
    }

    [RealAgentFact]
    public async Task FreezeSnapshotThaw_must_fail_with_the_commands_reason_and_thaw_all_when_the_snapshot_command_fails()
    {
        var vms = new[] { "c1", "c2", "c3" }.Select(id => _guests.Start(id)).ToList();
        // The command runs while every guest is frozen: it records that the kernel blocks a write (the writer,
        // detached from the command's pipes, finishes after the thaw), then fails.
        var probeWrite = Path.Combine(_guests.Mount("c1"), "from-snapshot-command");
        var seen = Path.Combine(_guests.Dir, "command-saw");
        var command = new CommandSnapshotProvider(
            $"/bin/sh -c '(echo x > {probeWrite}) </dev/null >/dev/null 2>&1 & sleep 0.5; kill -0 $! 2>/dev/null && echo blocked > {seen}; echo pool is full >&2; exit 3'",
            PerVm: false, Timeout: TimeSpan.FromSeconds(20));
        var (manager, probe) = StartOrchestrator(vms, Fast with { Command = command });

        manager.Tell(new SagaManager.StartFreeze("cmd-1", SnapshotMode.Command, "nightly", probe.Ref, VmIds: ["c1", "c2", "c3"]));
        var finished = await FinishedAsync(probe);

        Assert.Equal(SagaOutcome.Failed, finished.Outcome);
        Assert.Equal("snapshot failed: exit code 3: pool is full", finished.Reason);
        Assert.Equal("blocked", (await File.ReadAllTextAsync(seen)).Trim());
        Assert.All(finished.State.Tracks, t => Assert.True(t.FrozenAt is not null && t.ThawConfirmed, $"{t.VmId}: not frozen then thawed"));
        _guests.AssertKernelThawedAll();
    }

    [RealAgentFact]
    public async Task FreezeSnapshotThaw_must_retry_the_thaw_of_an_agent_killed_while_frozen_until_it_is_back()
    {
        var vms = new[] { "k1", "k2", "k3" }.Select(id => _guests.Start(id)).ToList();
        var (manager, probe) = StartOrchestrator(vms, Fast);
        manager.Tell(new SagaManager.StartFreeze("kill-1", SnapshotMode.External, "nightly", probe.Ref, VmIds: ["k1", "k2", "k3"]));
        await probe.FishForMessageAsync(m => m is FreezeSnapshotThaw.AllFrozen, TimeSpan.FromSeconds(30));

        _guests.Kill("k2"); // SIGKILL: no thaw on the way out; the kernel keeps k2 frozen
        Assert.True(_guests.WritesBlock("k2"), "k2 must still be frozen after its agent died");
        manager.Tell(new SagaManager.Abort("kill-1", "k2's agent died while frozen"));

        // The others thaw; k2's thaw fails and is retried with backoff while its agent is gone.
        await probe.AwaitAssertAsync(async () =>
        {
            manager.Tell(new SagaManager.GetSaga("kill-1", probe.Ref));
            var s = (await probe.FishForMessageAsync<FreezeSnapshotThaw.CurrentState>(m => m is FreezeSnapshotThaw.CurrentState)).State;
            Assert.True(s.Vms["k1"].ThawConfirmed && s.Vms["k3"].ThawConfirmed);
            Assert.True(s.Vms["k2"].ThawAttempts >= 3, $"k2 thaw attempts {s.Vms["k2"].ThawAttempts}");
            Assert.False(s.IsEnded);
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200));
        Assert.True(_guests.WritesGoThrough("k1") && _guests.WritesGoThrough("k3"));
        Assert.True(_guests.WritesBlock("k2"), "k2 thawed although no agent could have done it");

        Assert.True(_guests.AgentMarkerExists("k2"), "the killed agent left no frozen marker");
        _guests.Restart("k2"); // starts frozen from its marker; the next retry thaws it
        var finished = await FinishedAsync(probe);

        Assert.Equal(SagaOutcome.Aborted, finished.Outcome);
        Assert.Equal("k2's agent died while frozen", finished.Reason);
        Assert.True(finished.State.Vms["k2"].ThawConfirmed);
        _guests.AssertKernelThawedAll();
    }

    public void Dispose()
    {
        _system?.Terminate().Wait(TimeSpan.FromSeconds(10));
        _guests.Dispose();
    }
}
