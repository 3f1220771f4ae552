using Akka.Actor;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol.Qga;
using QgaOrchestrator.Protocol.Qmp;
using QgaOrchestrator.Vm.Tests.Infrastructure;
using Xunit.Abstractions;
using VmProtocol = QgaOrchestrator.Core.Vms.Vm;

namespace QgaOrchestrator.Vm.Tests;

/// <summary>guest-shutdown and guest-suspend-ram inside real guests, confirmed by QEMU (QMP events and state).</summary>
public sealed class PowerVmSpec(VmFleetFixture fixture, ITestOutputHelper output) : VmSpec(fixture, output)
{
    [VmFact]
    public async Task GuestShutdown_must_power_the_guest_off_confirmed_by_the_QMP_SHUTDOWN_event_and_QEMU_exiting()
    {
        var vm = await BootedAsync(VmFleetFixture.Power);
        var fleet = await FleetOfAsync(vm);
        var events = CreateTestProbe();
        fleet.Tell(new VmProtocol.SubscribeEvents(vm.Id, events));
        var client = CreateTestProbe();

        fleet.Tell(VmRequests.Create(vm.Id, QgaCommands.GuestShutdown, new GuestShutdownArguments { Mode = "powerdown" }, "off", client));

        // No reply on success: the channel completes the request on SHUTDOWN (or on the socket closing).
        var done = await client.ExpectMsgAsync<VmProtocol.Executed>(ReplyTimeout);
        Assert.True(done.Succeeded, done.Failure?.Reason ?? done.Error?.ToString());
        var shutdown = await events.FishForMessageAsync<VmProtocol.QmpEvent>(e => e.Name == "SHUTDOWN", ReplyTimeout);
        Assert.Equal("guest-shutdown", shutdown.Data!.Value.GetProperty("reason").GetString()); // the guest powered off, not the host
        await vm.Exited.WaitAsync(ReplyTimeout); // -no-reboot: QEMU exits after the guest's poweroff
    }

    [VmFact]
    public async Task GuestSuspendRam_must_suspend_to_S3_and_system_wakeup_must_bring_the_agent_back()
    {
        var vm = await BootedAsync(VmFleetFixture.Peer);
        var fleet = await FleetOfAsync(vm);
        // boot-vm.sh enables S3 on q35 (-global ICH9-LPC.disable_s3=0); QEMU must agree before we try.
        var machine = await QmpAsync(fleet, vm.Id, QmpCommands.QueryCurrentMachine);
        Assert.True(machine.GetProperty("wakeup-suspend-support").GetBoolean(), "QEMU reports no wakeup-suspend-support");
        var events = CreateTestProbe();
        fleet.Tell(new VmProtocol.SubscribeEvents(vm.Id, events));
        var client = CreateTestProbe();

        fleet.Tell(VmRequests.Create(vm.Id, QgaCommands.GuestSuspendRam, "s3", client));

        var done = await client.ExpectMsgAsync<VmProtocol.Executed>(ReplyTimeout);
        Assert.True(done.Succeeded, done.Failure?.Reason ?? done.Error?.ToString());
        await events.FishForMessageAsync<VmProtocol.QmpEvent>(e => e.Name == "SUSPEND", ReplyTimeout);
        Assert.Equal("suspended", (await QmpAsync(fleet, vm.Id, QmpCommands.QueryStatus)).GetProperty("status").GetString());

        await QmpAsync(fleet, vm.Id, QmpCommands.SystemWakeup);
        await events.FishForMessageAsync<VmProtocol.QmpEvent>(e => e.Name == "WAKEUP", ReplyTimeout);
        Assert.Equal("running", (await QmpAsync(fleet, vm.Id, QmpCommands.QueryStatus)).GetProperty("status").GetString());
        // The resumed agent answers again (after a resync if the channel needs one).
        await AwaitAssertAsync(async () => await RunAsync(fleet, vm.Id, QgaCommands.GuestPing, TimeSpan.FromSeconds(5)),
            TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(500));
    }
}
