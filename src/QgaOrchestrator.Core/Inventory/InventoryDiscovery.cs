using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Core.Inventory;

/// <summary>
/// Finds running VMs from the sockets their hypervisor stack leaves on disk, without configuration (pure: roots in,
/// VmConfigs out). Ids say where a VM came from and match what an operator types elsewhere: <c>libvirt:&lt;name&gt;</c>
/// (the virsh domain name, not the per-boot domain id) and <c>pve:&lt;vmid&gt;</c> (the qm vmid).
///   libvirt: {LibvirtChannelRoot}/domain-&lt;id&gt;-&lt;name&gt;/org.qemu.guest_agent.0, monitor {LibvirtDomainRoot}/domain-&lt;id&gt;-&lt;name&gt;/monitor.sock
///   Proxmox: {ProxmoxRoot}/&lt;vmid&gt;.qga, monitor &lt;vmid&gt;.qmp
/// Configured VMs (fleet.json) win over discovered ones with the same QGA socket; a socket claimed twice is reported.
/// </summary>
public static class InventoryDiscovery
{
    public const string LibvirtAgentChannel = "org.qemu.guest_agent.0";

    public sealed record Settings
    {
        public static readonly Settings Default = new();
        public bool Libvirt { get; init; } = true;
        public bool Proxmox { get; init; } = true;
        public string LibvirtChannelRoot { get; init; } = "/var/lib/libvirt/qemu/channel/target";
        public string LibvirtDomainRoot { get; init; } = "/var/lib/libvirt/qemu";
        public string ProxmoxRoot { get; init; } = "/var/run/qemu-server";
    }

    /// <param name="Vms">Configured VMs first, then discovered ones not shadowed by them.</param>
    /// <param name="Conflicts">One line per QGA socket claimed by more than one VM.</param>
    public sealed record Result(IReadOnlyList<VmConfig> Vms, IReadOnlyList<string> Conflicts);

    public static Result Discover(Settings settings, IReadOnlyList<VmConfig> configured)
    {
        var found = new List<VmConfig>();
        if (settings.Libvirt) found.AddRange(Libvirt(settings));
        if (settings.Proxmox) found.AddRange(Proxmox(settings));

        var conflicts = configured.GroupBy(v => Full(v.QgaSocket), StringComparer.Ordinal).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key} is configured for {string.Join(", ", g.Select(v => v.Id))}").ToList();
        var claimed = configured.GroupBy(v => Full(v.QgaSocket), StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Id, StringComparer.Ordinal);
        var vms = new List<VmConfig>(configured);
        foreach (var v in found)
        {
            if (claimed.TryGetValue(Full(v.QgaSocket), out var owner))
            {
                if (owner.StartsWith("libvirt:", StringComparison.Ordinal) || owner.StartsWith("pve:", StringComparison.Ordinal))
                    conflicts.Add($"{v.QgaSocket} is discovered for {owner} and {v.Id}");
                continue; // configured entry wins
            }
            claimed[Full(v.QgaSocket)] = v.Id;
            vms.Add(v);
        }
        return new Result(vms, conflicts);
    }

    // A label per source, so a saga can select every discovered VM of one kind (--selector source=proxmox).
    private static readonly IReadOnlyDictionary<string, string> LibvirtLabels = new Dictionary<string, string> { ["source"] = "libvirt" };
    private static readonly IReadOnlyDictionary<string, string> ProxmoxLabels = new Dictionary<string, string> { ["source"] = "proxmox" };

    private static IEnumerable<VmConfig> Libvirt(Settings s)
    {
        if (!Directory.Exists(s.LibvirtChannelRoot)) yield break;
        foreach (var dir in Directory.EnumerateDirectories(s.LibvirtChannelRoot, "domain-*").Order(StringComparer.Ordinal))
        {
            var qga = Path.Combine(dir, LibvirtAgentChannel);
            var name = DomainName(Path.GetFileName(dir));
            if (name is null || !IsSocket(qga)) continue;
            var monitor = Path.Combine(s.LibvirtDomainRoot, Path.GetFileName(dir), "monitor.sock");
            yield return new VmConfig { Id = "libvirt:" + name, QgaSocket = qga, QmpSocket = IsSocket(monitor) ? monitor : null, Source = VmSource.Libvirt, Labels = LibvirtLabels };
        }
    }

    /// <summary>"domain-12-web01" → "web01" (libvirt may shorten long names; the id prefix keeps it unique).</summary>
    internal static string? DomainName(string dirName)
    {
        var parts = dirName.Split('-', 3);
        return parts.Length == 3 && parts[0] == "domain" && int.TryParse(parts[1], out _) && parts[2].Length > 0 ? parts[2] : null;
    }

    private static IEnumerable<VmConfig> Proxmox(Settings s)
    {
        if (!Directory.Exists(s.ProxmoxRoot)) yield break;
        foreach (var qga in Directory.EnumerateFiles(s.ProxmoxRoot, "*.qga").Order(StringComparer.Ordinal))
        {
            var vmid = Path.GetFileNameWithoutExtension(qga);
            if (!int.TryParse(vmid, out _) || !IsSocket(qga)) continue;
            var qmp = Path.ChangeExtension(qga, ".qmp");
            yield return new VmConfig { Id = "pve:" + vmid, QgaSocket = qga, QmpSocket = IsSocket(qmp) ? qmp : null, Source = VmSource.Proxmox, Labels = ProxmoxLabels };
        }
    }

    private static bool IsSocket(string path)
    {
        try { return new FileInfo(path) is { Exists: true } f && IsUnixSocket(f); }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    // .NET has no S_ISSOCK: a socket is neither a regular file nor a directory nor a link.
    private static bool IsUnixSocket(FileInfo f) =>
        f.LinkTarget is null && !f.Attributes.HasFlag(FileAttributes.Directory) && f.Length == 0 && !IsRegular(f.FullName);

    private static bool IsRegular(string path)
    {
        try { using var _ = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite); return true; }
        catch (IOException) { return false; } // ENXIO: opening a socket fails
        catch (UnauthorizedAccessException) { return false; }
    }

    private static string Full(string p) => Path.GetFullPath(p);
}
