using Akka.Actor;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol.Qga;
using QgaOrchestrator.Protocol.Qmp;
using QgaOrchestrator.Vm.Tests.Infrastructure;
using Xunit.Abstractions;
using VmProtocol = QgaOrchestrator.Core.Vms.Vm;

namespace QgaOrchestrator.Vm.Tests;

/// <summary>
/// guest-shutdown inside a real guest, confirmed by QEMU (QMP event, exit). Suspend to RAM and wakeup
/// are covered through their sagas in <see cref="PowerSagaVmSpec"/> (the peer survives one S3 cycle per boot).
/// </summary>
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
}
