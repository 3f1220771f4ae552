using System.Globalization;
using QgaAgent.Dispatch;
using QgaAgent.Platform;
using QgaOrchestrator.Protocol.Qga;

namespace QgaAgent.Commands.Linux;

/// <summary>
/// guest-get-fsinfo: one entry per mount from the mount list (reverse order, as qemu-ga prepends),
/// device name from /sys/dev/block, sizes from statvfs, disks for virtio/PCI devices found in sysfs.
/// </summary>
internal static class FsInfoCommands
{
    public static void Register(CommandRegistry registry, IFsFreezer fs) =>
        registry.Register(QgaCommands.GuestGetFsinfo, _ => CommandResult<IReadOnlyList<GuestFilesystemInfo>>.Of(Get(fs.Mounts())));

    public static unsafe List<GuestFilesystemInfo> Get(IReadOnlyList<FsMount> mounts)
    {
        var result = new List<GuestFilesystemInfo>();
        foreach (var m in mounts)
        {
            var sysPath = $"/sys/dev/block/{m.Major.ToString(CultureInfo.InvariantCulture)}:{m.Minor.ToString(CultureInfo.InvariantCulture)}";
            string? real = Resolve(sysPath);
            var name = real is null ? $"{m.Major}:{m.Minor}" : Path.GetFileName(real);
            ulong? used = null, total = null;
            Libc.StatVfs st;
            if (Libc.statvfs(m.Dir, &st) == 0)
            {
                ulong usedBlocks = st.Blocks - st.Bfree;
                used = usedBlocks * st.Frsize;
                total = (usedBlocks + st.Bavail) * st.Frsize;
            }
            result.Insert(0, new GuestFilesystemInfo
            {
                Name = name, Mountpoint = m.Dir, Type = m.Type, UsedBytes = used, TotalBytes = total,
                Disk = real is null ? [] : Disks(real, m),
            });
        }
        return result;
    }

    private static string? Resolve(string path)
    {
        try { return new DirectoryInfo(path).ResolveLinkTarget(true)?.FullName ?? (Directory.Exists(path) ? path : null); }
        catch (IOException) { return null; }
    }

    /// <summary>
    /// A virtio disk sits under a PCI function directory. As qemu-ga 7.2's libudev lookup on the
    /// device itself (a partition for a partition): dev is /dev/ + DEVNAME from its uevent, serial is
    /// ID_SERIAL from the udev database (absent when udev has not recorded the device).
    /// </summary>
    private static List<GuestDiskAddress> Disks(string sysDevice, FsMount m)
    {
        var parts = sysDevice.Split('/', StringSplitOptions.RemoveEmptyEntries);
        int blockIdx = Array.LastIndexOf(parts, "block");
        if (blockIdx < 0 || blockIdx + 1 >= parts.Length) return [];
        string? pci = parts.Take(blockIdx).LastOrDefault(p => p.Length == 12 && p[4] == ':' && p[7] == ':' && p[10] == '.');
        if (pci is null) return [];
        bool virtio = parts.Take(blockIdx).Any(p => p.StartsWith("virtio", StringComparison.Ordinal));
        if (!virtio) return [];
        int Hex(string s) => int.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        var devName = KeyValue(Path.Combine(sysDevice, "uevent"), "DEVNAME=");
        var serial = KeyValue($"/run/udev/data/b{m.Major.ToString(CultureInfo.InvariantCulture)}:{m.Minor.ToString(CultureInfo.InvariantCulture)}", "E:ID_SERIAL=");
        return
        [
            new GuestDiskAddress
            {
                PciController = new GuestPCIAddress { Domain = Hex(pci[..4]), Bus = Hex(pci[5..7]), Slot = Hex(pci[8..10]), Function = Hex(pci[11..]) },
                BusType = GuestDiskBusType.Virtio, Bus = 0, Target = 0, Unit = 0,
                Serial = string.IsNullOrEmpty(serial) ? null : serial,
                Dev = devName is null ? null : "/dev/" + devName,
            },
        ];
    }

    /// <summary>The value of the first line starting with <paramref name="key"/>, or null.</summary>
    private static string? KeyValue(string file, string key)
    {
        try
        {
            foreach (var line in File.ReadLines(file))
                if (line.StartsWith(key, StringComparison.Ordinal)) return line[key.Length..];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }
}
