using QgaOrchestrator.Core.Inventory;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Core.Tests.Inventory;

/// <summary>Discovery over temp directories laid out like libvirt's and Proxmox's, with real listening unix sockets.</summary>
public sealed class InventoryDiscoverySpec : IDisposable
{
    private readonly InventoryRoots _roots = new();

    private InventoryDiscovery.Settings Settings => _roots.Settings;

    private string Listen(string path) => _roots.Listen(path);

    [Fact]
    public void InventoryDiscovery_must_find_libvirt_and_proxmox_vms_with_their_monitor_sockets()
    {
        var web = Listen(Path.Combine(_roots.Root, "channel/target/domain-3-web01", InventoryDiscovery.LibvirtAgentChannel));
        var mon = Listen(Path.Combine(_roots.Root, "domain-3-web01/monitor.sock"));
        var pve = Listen(Path.Combine(_roots.Root, "qemu-server/101.qga"));
        Listen(Path.Combine(_roots.Root, "qemu-server/101.qmp"));
        File.WriteAllText(Path.Combine(_roots.Root, "qemu-server/102.qga"), "not a socket");

        var result = InventoryDiscovery.Discover(Settings, []);

        Assert.Empty(result.Conflicts);
        Assert.Collection(result.Vms,
            v => { Assert.Equal("libvirt:web01", v.Id); Assert.Equal(web, v.QgaSocket); Assert.Equal(mon, v.QmpSocket); Assert.Equal("libvirt", v.Labels["source"]); },
            v => { Assert.Equal("pve:101", v.Id); Assert.Equal(pve, v.QgaSocket); Assert.EndsWith("101.qmp", v.QmpSocket); Assert.Equal("proxmox", v.Labels["source"]); });
    }

    [Fact]
    public void InventoryDiscovery_must_let_configured_vms_win_and_report_a_socket_configured_twice()
    {
        var pve = Listen(Path.Combine(_roots.Root, "qemu-server/101.qga"));
        var configured = new List<VmConfig> { new() { Id = "db", QgaSocket = pve }, new() { Id = "db-again", QgaSocket = pve } };

        var result = InventoryDiscovery.Discover(Settings, configured);

        Assert.Equal(["db", "db-again"], result.Vms.Select(v => v.Id));
        Assert.Contains(result.Conflicts, c => c.Contains("db, db-again", StringComparison.Ordinal));
    }

    [Fact]
    public void InventoryDiscovery_must_skip_disabled_roots_and_missing_directories()
    {
        Listen(Path.Combine(_roots.Root, "qemu-server/101.qga"));
        Assert.Empty(InventoryDiscovery.Discover(Settings with { Proxmox = false }, []).Vms);
        Assert.Empty(InventoryDiscovery.Discover(Settings with { ProxmoxRoot = Path.Combine(_roots.Root, "nope") }, []).Vms);
        Assert.Equal("my-vm", InventoryDiscovery.DomainName("domain-12-my-vm"));
        Assert.Null(InventoryDiscovery.DomainName("domain-x-y"));
    }

    public void Dispose() => _roots.Dispose();
}
