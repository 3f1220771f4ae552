using Akka.Actor;
using QgaOrchestrator.Core.Persistence;
using QgaOrchestrator.Core.Sagas;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol.Qga;
using QgaOrchestrator.Protocol.Qmp;
using QgaOrchestrator.Vm.Tests.Infrastructure;
using Xunit.Abstractions;
using VmProtocol = QgaOrchestrator.Core.Vms.Vm;

namespace QgaOrchestrator.Vm.Tests;

/// <summary>
/// The power sagas through <see cref="SagaManager"/> on a SQLite journal, against real guests:
/// suspend to RAM and resume (the S3-safe peer; one S3 cycle per boot works, see
/// <see cref="VmFleetFixture.Peer"/>), and shutdown of a guest of its own.
/// </summary>
public sealed class PowerSagaVmSpec : VmSpec
{
    /// <summary>A woken TCG guest's agent can take seconds to answer the saga's one re-sync ping.</summary>
    private static readonly PowerSaga.Settings Power = PowerSaga.Settings.Default with { RequestTimeout = TimeSpan.FromSeconds(15) };

    private static readonly TimeSpan SagaTimeout = TimeSpan.FromSeconds(120);

    private readonly string _state;

    public PowerSagaVmSpec(VmFleetFixture fixture, ITestOutputHelper output)
        : this(fixture, output, Directory.CreateTempSubdirectory("qga-vm-power-saga-").FullName)
    {
    }

    private PowerSagaVmSpec(VmFleetFixture fixture, ITestOutputHelper output, string state)
        : base(fixture, output, SagaPersistence.Sqlite(state)) => _state = state;

    [VmFact]
    public async Task PowerSagas_must_suspend_a_real_guest_to_RAM_and_resume_it_with_the_agent_answering_through_the_resynced_channel()
    {
        var vms = new[] { await BootedAsync(VmFleetFixture.Peer) };
        var fleet = await FleetOfAsync(vms);
        var manager = Sys.ActorOf(SagaManager.Props(fleet, new SagaManager.Settings { Power = Power }), "sagas");
        var ids = vms.Select(v => v.Id).ToList();
        try
        {
            var suspended = await RunSagaAsync(manager, c => new SagaManager.StartSuspend("vm-suspend", SuspendMode.Ram, c, VmIds: ids));
            Assert.All(suspended.State.Tracks, t => Assert.Equal("SUSPEND event", t.Evidence));
            foreach (var vm in vms) Assert.Equal("suspended", await StatusAsync(fleet, vm.Id));

            var resumed = await RunSagaAsync(manager, c => new SagaManager.StartResume("vm-resume", c, VmIds: ids, Timeout: TimeSpan.FromSeconds(60)));
            Assert.All(resumed.State.Tracks, t => Assert.Contains("the agent answered after re-sync", t.Evidence));
            foreach (var vm in vms)
            {
                Assert.Equal("running", await StatusAsync(fleet, vm.Id));
                await RunAsync(fleet, vm.Id, QgaCommands.GuestPing); // through the channel the saga re-synced
            }
        }
        finally
        {
            // Later specs share the guest: never leave it in S3.
            foreach (var vm in vms)
                if (await StatusAsync(fleet, vm.Id) == "suspended") await QmpAsync(fleet, vm.Id, QmpCommands.SystemWakeup);
        }
    }

    [VmFact]
    public async Task PowerSagas_must_shut_a_real_guest_down_confirmed_by_SHUTDOWN_and_QEMU_exiting()
    {
        var vm = await BootedAsync(VmFleetFixture.Sleeper);
        var fleet = await FleetOfAsync(vm);
        var manager = Sys.ActorOf(SagaManager.Props(fleet, new SagaManager.Settings { Power = Power }), "sagas");
        var events = CreateTestProbe();
        fleet.Tell(new VmProtocol.SubscribeEvents(vm.Id, events));

        var done = await RunSagaAsync(manager, c => new SagaManager.StartShutdown("vm-shutdown", ShutdownMode.Powerdown, c, VmIds: [vm.Id]));

        var track = Assert.Single(done.State.Tracks);
        Assert.Equal("SHUTDOWN event", track.Evidence); // guest-shutdown worked: no system_powerdown fallback
        Assert.False(track.FallbackSent);
        var shutdown = await events.FishForMessageAsync<VmProtocol.QmpEvent>(e => e.Name == "SHUTDOWN", ReplyTimeout);
        Assert.Equal("guest-shutdown", shutdown.Data!.Value.GetProperty("reason").GetString()); // the guest powered off, not the host
        await vm.Exited.WaitAsync(ReplyTimeout); // -no-reboot: QEMU exits after the guest's poweroff
    }

    private async Task<PowerSaga.Finished> RunSagaAsync(IActorRef manager, Func<IActorRef, object> start)
    {
        var client = CreateTestProbe();
        var started = start(client);
        manager.Tell(started);
        await client.ExpectMsgAsync<PowerSaga.Started>(ReplyTimeout);
        var finished = await client.ExpectMsgAsync<PowerSaga.Finished>(SagaTimeout);
        foreach (var t in finished.State.Tracks)
            Output?.WriteLine($"{finished.SagaId} {t.VmId}: {t.Step} in {t.Duration?.TotalSeconds:0.0} s, {t.Evidence ?? t.Reason}");
        Assert.True(finished.Outcome == SagaOutcome.Completed, $"{finished.SagaId} {finished.Outcome}: {finished.Reason}");
        return finished;
    }

    private async Task<string?> StatusAsync(IActorRef fleet, string vmId) =>
        (await QmpAsync(fleet, vmId, QmpCommands.QueryStatus)).GetProperty("status").GetString();

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_state)) Directory.Delete(_state, true);
    }
}
