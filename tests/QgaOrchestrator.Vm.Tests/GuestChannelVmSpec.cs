using Akka.Actor;
using QgaOrchestrator.Core.Channel;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol.Qga;
using QgaOrchestrator.Vm.Tests.Infrastructure;
using Xunit.Abstractions;
using VmProtocol = QgaOrchestrator.Core.Vms.Vm;

namespace QgaOrchestrator.Vm.Tests;

/// <summary>
/// The Core actors against our qga-agent inside real QEMU guests, on each channel the agent has. The
/// fleet reports a VM connected only after guest-sync-delimited (0xFF + delimited reply) succeeded
/// and guest-info was read, so every test here starts with the real handshake.
/// </summary>
public sealed class GuestChannelVmSpec(VmFleetFixture fixture, ITestOutputHelper output) : VmSpec(fixture, output)
{
    [VmFact]
    public async Task GuestChannel_must_run_the_informational_commands_over_virtio_serial()
    {
        var vm = await BootedAsync(VmFleetFixture.Main);
        var fleet = await FleetOfAsync(vm);

        await RunAsync(fleet, vm.Id, QgaCommands.GuestPing);
        var info = await RunAsync(fleet, vm.Id, QgaCommands.GuestInfo);
        Assert.Equal("1.0.0", info.Version);
        Assert.Contains(info.SupportedCommands, c => c.Name == "guest-fsfreeze-freeze" && c.Enabled);

        var os = await RunAsync(fleet, vm.Id, QgaCommands.GuestGetOsinfo);
        Assert.Equal("qga-test-guest", os.Id); // the image's /etc/os-release
        Assert.Equal("x86_64", os.Machine);
        Assert.EndsWith("-amd64", os.KernelRelease);

        var nics = await RunAsync(fleet, vm.Id, QgaCommands.GuestNetworkGetInterfaces);
        var eth0 = Assert.Single(nics, n => n.Name == "eth0");
        Assert.Equal(vm.Mac, eth0.HardwareAddress); // the MAC given to QEMU's virtio-net
        Assert.Contains(eth0.IpAddresses ?? [], a => a.IpAddress == "10.0.2.15" && a.Prefix == 24);
        Assert.Contains(nics, n => n.Name == "lo" && (n.IpAddresses ?? []).Any(a => a.IpAddress == "127.0.0.1"));

        var fs = await RunAsync(fleet, vm.Id, QgaCommands.GuestGetFsinfo);
        var data = Assert.Single(fs, f => f.Mountpoint == "/data");
        Assert.Equal("ext4", data.Type);
        Assert.Equal("/dev/vda", Assert.Single(data.Disk).Dev);
        Assert.InRange(data.TotalBytes ?? 0, 40UL << 20, 64UL << 20); // the 64 MiB disk.qcow2 of boot-vm.sh
    }

    [VmFact]
    public async Task GuestChannel_must_reach_Ready_through_guest_sync_delimited_with_a_real_guest()
    {
        var vm = await BootedAsync(VmFleetFixture.Main);
        var listener = CreateTestProbe();
        var channel = Sys.ActorOf(GuestChannel.Props(VmSettings.Guest with { VmId = vm.Id, SocketPath = vm.QgaSocket }, listener));

        // 0xFF + guest-sync-delimited, then the 0xFF-prefixed reply with our id: only then Ready.
        await listener.FishForMessageAsync<GuestChannel.StateChanged>(s => s.Phase == GuestChannel.Phase.Syncing, ReplyTimeout);
        await listener.FishForMessageAsync<GuestChannel.StateChanged>(s => s.Phase == GuestChannel.Phase.Ready, TimeSpan.FromSeconds(60));
        var client = CreateTestProbe();
        channel.Tell(VmRequests.Create(vm.Id, QgaCommands.GuestSync, new GuestSyncArguments { Id = 4242 }, "sync", client));
        Assert.Equal(4242, (await client.ExpectMsgAsync<VmProtocol.Executed>(ReplyTimeout)).Return!.Value.GetInt64());
        channel.Tell(VmRequests.Create(vm.Id, QgaCommands.GuestPing, "ping", client));
        Assert.True((await client.ExpectMsgAsync<VmProtocol.Executed>(ReplyTimeout)).Succeeded);
        await channel.GracefulStop(ReplyTimeout); // QEMU's chardev takes one client: free it for the next spec
    }

    [VmFact]
    public async Task GuestChannel_must_run_ping_and_info_over_isa_serial()
    {
        var vm = await BootedAsync(VmFleetFixture.Isa);
        var fleet = await FleetOfAsync(vm);

        await RunAsync(fleet, vm.Id, QgaCommands.GuestPing);
        var info = await RunAsync(fleet, vm.Id, QgaCommands.GuestInfo);
        Assert.Equal("1.0.0", info.Version);
        // A 2 KB reply through the emulated UART, intact: every command the agent has, ours included.
        Assert.Contains(info.SupportedCommands, c => c.Name == "guest-fsfreeze-freeze-list" && c.Enabled);
        Assert.Contains(info.SupportedCommands, c => c.Name == "guest-get-fsinfo" && c.Enabled);
        var os = await RunAsync(fleet, vm.Id, QgaCommands.GuestGetOsinfo);
        Assert.Equal("qga-test-guest", os.Id);
    }

    [VsockFact]
    public async Task GuestChannel_must_run_ping_and_info_over_vsock()
    {
        var vm = await BootedAsync(VmFleetFixture.Vsock);
        var fleet = await FleetOfAsync(vm);

        await RunAsync(fleet, vm.Id, QgaCommands.GuestPing);
        var info = await RunAsync(fleet, vm.Id, QgaCommands.GuestInfo);
        Assert.Equal("1.0.0", info.Version);
    }
}
