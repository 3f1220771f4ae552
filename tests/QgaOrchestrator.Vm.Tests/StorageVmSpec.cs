using System.Text;
using Akka.Actor;
using Akka.TestKit;
using QgaOrchestrator.Core.Persistence;
using QgaOrchestrator.Core.Sagas;
using QgaOrchestrator.Core.Snapshots;
using QgaOrchestrator.Protocol.Qga;
using QgaOrchestrator.Vm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace QgaOrchestrator.Vm.Tests;

/// <summary>Freeze → QMP snapshot → thaw of a two-guest group through the saga, and fstrim, in real guests.</summary>
public sealed class StorageVmSpec : VmSpec
{
    private readonly string _state;

    public StorageVmSpec(VmFleetFixture fixture, ITestOutputHelper output)
        : this(fixture, output, Directory.CreateTempSubdirectory("qga-vm-saga-").FullName)
    {
    }

    private StorageVmSpec(VmFleetFixture fixture, ITestOutputHelper output, string state)
        : base(fixture, output, SagaPersistence.Sqlite(state)) => _state = state;

    [VmFact]
    public async Task FreezeSnapshotThaw_must_snapshot_a_group_of_two_real_guests_through_QMP_and_leave_them_thawed_and_writable()
    {
        var vms = await Task.WhenAll(BootedAsync(VmFleetFixture.Main), BootedAsync(VmFleetFixture.Peer));
        var fleet = await FleetOfAsync(vms);
        var overlays = Path.Combine(_state, "overlays");
        Directory.CreateDirectory(overlays);
        var provider = new QmpSnapshotProvider(overlays);
        var manager = Sys.ActorOf(SagaManager.Props(fleet, new SagaManager.Settings { Saga = FreezeSnapshotThaw.Settings.Default with { Qmp = provider } }), "sagas");
        var client = CreateTestProbe();

        manager.Tell(new SagaManager.StartFreeze("vm-snap", SnapshotMode.Qmp, "snap1", client, VmIds: vms.Select(v => v.Id).ToList(), Deadline: TimeSpan.FromSeconds(60)));

        var finished = await client.FishForMessageAsync<FreezeSnapshotThaw.Finished>(m => m is FreezeSnapshotThaw.Finished, TimeSpan.FromSeconds(90));
        Assert.True(finished.Outcome == SagaOutcome.Completed, $"{finished.Outcome}: {finished.Reason}");
        foreach (var vm in vms)
        {
            var overlay = provider.OverlayPath("vm-snap", vm.Id, "disk0", "snap1");
            Assert.True(File.Exists(overlay), $"{vm.Id}: no overlay {overlay}");
            // -U: QEMU holds the image's write lock; the overlay's backing file is the VM's original disk.
            var info = Shell.Run($"qemu-img info -U '{overlay}'");
            Assert.True(info.ExitCode == 0, info.Output);
            Assert.Contains($"backing file: {vm.Disk}", info.Output, StringComparison.Ordinal);
            Assert.Equal(GuestFsfreezeStatus.Thawed, await RunAsync(fleet, vm.Id, QgaCommands.GuestFsfreezeStatus));
            await AssertWritableAsync(fleet, vm.Id);
        }
    }

    [VmFact]
    public async Task GuestFstrim_must_trim_the_guests_data_filesystem()
    {
        var vm = await BootedAsync(VmFleetFixture.Main);
        var fleet = await FleetOfAsync(vm);

        var trim = await RunAsync(fleet, vm.Id, QgaCommands.GuestFstrim, new GuestFstrimArguments { Minimum = 0 }, TimeSpan.FromSeconds(60));

        var data = Assert.Single(trim.Paths, p => p.Path == "/data");
        Assert.Null(data.Error);
        Assert.True(data.Trimmed > 0, $"trimmed {data.Trimmed} bytes of a nearly empty 64 MiB ext4"); // virtio-blk advertises discard
    }

    /// <summary>Writes a file in the guest's /data through guest-file-* and reads it back.</summary>
    private async Task AssertWritableAsync(IActorRef fleet, string vmId)
    {
        var text = $"written by {vmId} after the snapshot {Guid.NewGuid():N}";
        var path = $"/data/{vmId}-after-snapshot.txt";
        var w = await RunAsync(fleet, vmId, QgaCommands.GuestFileOpen, new GuestFileOpenArguments { Path = path, Mode = "w" });
        await RunAsync(fleet, vmId, QgaCommands.GuestFileWrite, new GuestFileWriteArguments { Handle = w, BufB64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(text)) });
        await RunAsync(fleet, vmId, QgaCommands.GuestFileFlush, new GuestFileFlushArguments { Handle = w });
        await RunAsync(fleet, vmId, QgaCommands.GuestFileClose, new GuestFileCloseArguments { Handle = w });
        var r = await RunAsync(fleet, vmId, QgaCommands.GuestFileOpen, new GuestFileOpenArguments { Path = path, Mode = "r" });
        var read = await RunAsync(fleet, vmId, QgaCommands.GuestFileRead, new GuestFileReadArguments { Handle = r, Count = 4096 });
        await RunAsync(fleet, vmId, QgaCommands.GuestFileClose, new GuestFileCloseArguments { Handle = r });
        Assert.Equal(text, Encoding.UTF8.GetString(Convert.FromBase64String(read.BufB64)));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_state)) Directory.Delete(_state, true);
    }
}
