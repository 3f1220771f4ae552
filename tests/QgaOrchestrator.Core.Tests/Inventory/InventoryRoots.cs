using System.Net.Sockets;
using QgaOrchestrator.Core.Inventory;

namespace QgaOrchestrator.Core.Tests.Inventory;

/// <summary>A temp dir laid out like libvirt's and Proxmox's, with real listening unix sockets; deleted on dispose.</summary>
public sealed class InventoryRoots : IDisposable
{
    private readonly Dictionary<string, Socket> _sockets = new(StringComparer.Ordinal);

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "qga-inv-" + Guid.NewGuid().ToString("N")[..8]);

    public string ProxmoxRoot => Path.Combine(Root, "qemu-server");

    public InventoryDiscovery.Settings Settings => new()
    {
        LibvirtChannelRoot = Path.Combine(Root, "channel/target"),
        LibvirtDomainRoot = Root,
        ProxmoxRoot = ProxmoxRoot,
    };

    /// <summary>A listening unix socket at <paramref name="path"/> (its directory created).</summary>
    public string Listen(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        s.Bind(new UnixDomainSocketEndPoint(path));
        s.Listen();
        _sockets[path] = s;
        return path;
    }

    /// <summary>Proxmox's <c>{vmid}.qga</c>.</summary>
    public string Proxmox(int vmid) => Listen(Path.Combine(ProxmoxRoot, $"{vmid}.qga"));

    /// <summary>libvirt's agent channel of <c>domain-{id}-{name}</c>.</summary>
    public string Libvirt(int id, string name) =>
        Listen(Path.Combine(Root, "channel/target", $"domain-{id}-{name}", InventoryDiscovery.LibvirtAgentChannel));

    /// <summary>Closes the socket and deletes its file, as QEMU does when the VM stops.</summary>
    public void Close(string path)
    {
        if (_sockets.Remove(path, out var s)) s.Dispose();
        File.Delete(path);
    }

    public void Dispose()
    {
        foreach (var s in _sockets.Values) s.Dispose();
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
    }
}
