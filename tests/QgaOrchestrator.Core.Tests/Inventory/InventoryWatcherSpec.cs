using Akka.Actor;
using Akka.TestKit;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Inventory;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Core.Tests.Inventory;

/// <summary>The watcher over real temp directories and unix sockets, with a probe standing in for the FleetManager.</summary>
public sealed class InventoryWatcherSpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Never = TimeSpan.FromHours(1);

    private readonly InventoryRoots _roots = new();
    private readonly TestProbe _fleet;

    public InventoryWatcherSpec() : base("akka.loglevel = WARNING") => _fleet = CreateTestProbe("fleet");

    private IActorRef Start(TimeSpan? rescan = null, TimeSpan? debounce = null, IReadOnlyList<VmConfig>? configured = null, bool createRoots = true)
    {
        if (createRoots)
        {
            Directory.CreateDirectory(_roots.ProxmoxRoot);
            Directory.CreateDirectory(Path.Combine(_roots.Root, "channel/target"));
        }
        var watcher = Sys.ActorOf(InventoryWatcher.Props(_fleet, new InventoryWatcher.Settings
        {
            Discovery = _roots.Settings,
            Configured = configured ?? [],
            RescanInterval = rescan ?? Never,
            Debounce = debounce ?? TimeSpan.FromMilliseconds(50),
        }));
        ScansDone(watcher, 1); // the watchers exist once the first scan started
        return watcher;
    }

    private void ScansDone(IActorRef watcher, long atLeast) => AwaitAssert(() =>
    {
        watcher.Tell(new InventoryWatcher.GetInventory(TestActor));
        Assert.True(ExpectMsg<InventoryWatcher.Inventory>().Scans >= atLeast);
    }, TimeSpan.FromSeconds(5));

    private async Task<FleetManager.AddVm> ExpectAddAsync(TimeSpan? within = null)
    {
        var add = await _fleet.ExpectMsgAsync<FleetManager.AddVm>(within ?? TimeSpan.FromSeconds(5));
        add.ReplyTo!.Tell(new FleetManager.VmAdded(add.Config.Id));
        return add;
    }

    [Fact]
    public async Task InventoryWatcher_must_add_vms_that_appear_and_remove_those_that_disappear()
    {
        Start();
        var pve = _roots.Proxmox(101);
        var web = _roots.Libvirt(7, "web01");

        var added = new[] { await ExpectAddAsync(), await ExpectAddAsync() }.OrderBy(a => a.Config.Id, StringComparer.Ordinal).ToList();
        Assert.Equal(["libvirt:web01", "pve:101"], added.Select(a => a.Config.Id));
        Assert.Equal((web, VmSource.Libvirt), (added[0].Config.QgaSocket, added[0].Config.Source));
        Assert.Equal((pve, VmSource.Proxmox), (added[1].Config.QgaSocket, added[1].Config.Source));

        _roots.Close(pve);
        Assert.Equal("pve:101", (await _fleet.ExpectMsgAsync<FleetManager.RemoveVm>()).VmId);
        Directory.Delete(Path.GetDirectoryName(web)!, recursive: true); // libvirt removes the domain's channel dir
        Assert.Equal("libvirt:web01", (await _fleet.ExpectMsgAsync<FleetManager.RemoveVm>()).VmId);
    }

    [Fact]
    public async Task InventoryWatcher_must_leave_unchanged_vms_alone_on_a_rescan()
    {
        var watcher = Start();
        _roots.Proxmox(111);
        await ExpectAddAsync();

        watcher.Tell(new InventoryWatcher.Rescan("test"));
        ScansDone(watcher, 3);
        // The watcher tells the fleet before it answers GetInventory: anything it sent is already queued.
        Assert.False(_fleet.HasMessages);
    }

    [Fact]
    public async Task InventoryWatcher_must_leave_fleet_json_vms_alone()
    {
        Directory.CreateDirectory(_roots.ProxmoxRoot);
        var configuredSocket = _roots.Proxmox(101);
        var watcher = Start(configured: [new VmConfig { Id = "db", QgaSocket = configuredSocket }]);
        var other = _roots.Proxmox(102);

        Assert.Equal("pve:102", (await ExpectAddAsync()).Config.Id); // that scan saw 101 too: configured, so not added
        watcher.Tell(new InventoryWatcher.GetInventory(TestActor));
        Assert.Equal(["pve:102"], (await ExpectMsgAsync<InventoryWatcher.Inventory>()).Vms.Select(v => v.Id));

        _roots.Close(configuredSocket);
        _roots.Close(other);
        Assert.Equal("pve:102", (await _fleet.ExpectMsgAsync<FleetManager.RemoveVm>()).VmId);
        await _fleet.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300)); // never a RemoveVm for "db"
    }

    [Fact]
    public async Task InventoryWatcher_must_collapse_a_burst_of_events_into_one_scan()
    {
        var watcher = Start(debounce: TimeSpan.FromSeconds(1));
        foreach (var vmid in Enumerable.Range(201, 5)) _roots.Proxmox(vmid);

        var ids = new List<string>();
        for (int i = 0; i < 5; i++) ids.Add((await ExpectAddAsync()).Config.Id);

        Assert.Equal(Enumerable.Range(201, 5).Select(v => "pve:" + v), ids.Order(StringComparer.Ordinal));
        watcher.Tell(new InventoryWatcher.GetInventory(TestActor));
        Assert.Equal(2, (await ExpectMsgAsync<InventoryWatcher.Inventory>()).Scans); // the start, then the burst once
    }

    [Fact]
    public async Task InventoryWatcher_must_pick_up_a_root_created_after_it_started()
    {
        var watcher = Start(rescan: TimeSpan.FromMilliseconds(300), createRoots: false);
        _roots.Proxmox(301); // creates qemu-server/: no watcher was possible, the periodic rescan finds it

        Assert.Equal("pve:301", (await ExpectAddAsync()).Config.Id);
        Assert.True(Directory.Exists(_roots.ProxmoxRoot));
        watcher.Tell(new InventoryWatcher.GetInventory(TestActor));
        Assert.Single((await ExpectMsgAsync<InventoryWatcher.Inventory>()).Vms);
    }

    [Fact]
    public async Task InventoryWatcher_must_follow_a_root_that_is_deleted_and_created_again()
    {
        Start(rescan: TimeSpan.FromMilliseconds(300));
        var pve = _roots.Proxmox(311);
        await ExpectAddAsync();

        _roots.Close(pve);
        Directory.Delete(_roots.ProxmoxRoot, recursive: true);
        Assert.Equal("pve:311", (await _fleet.ExpectMsgAsync<FleetManager.RemoveVm>()).VmId);
        _roots.Proxmox(312);

        Assert.Equal("pve:312", (await ExpectAddAsync()).Config.Id);
    }

    [Fact]
    public async Task InventoryWatcher_must_re_add_a_vm_whose_socket_was_re_created()
    {
        Start(debounce: TimeSpan.FromMilliseconds(500));
        var pve = _roots.Proxmox(401);
        await ExpectAddAsync();

        _roots.Close(pve); // the VM restarted: QEMU deletes the socket and binds a new one
        _roots.Proxmox(401);

        // Whether one scan saw the new socket or two saw it gone and back: the VM actor starts afresh.
        Assert.Equal("pve:401", (await _fleet.ExpectMsgAsync<FleetManager.RemoveVm>()).VmId);
        Assert.Equal("pve:401", (await ExpectAddAsync()).Config.Id);
    }

    [Fact]
    public async Task InventoryWatcher_must_add_a_monitor_socket_that_appears_after_the_agent_socket()
    {
        Start();
        _roots.Proxmox(501);
        Assert.Null((await ExpectAddAsync()).Config.QmpSocket);

        var qmp = _roots.Listen(Path.Combine(_roots.ProxmoxRoot, "501.qmp"));

        Assert.Equal("pve:501", (await _fleet.ExpectMsgAsync<FleetManager.RemoveVm>()).VmId);
        Assert.Equal(qmp, (await ExpectAddAsync()).Config.QmpSocket);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _roots.Dispose();
    }
}
