using System.Globalization;
using System.Text;

namespace QgaAgent.Commands.Linux;

/// <summary>One mount as qemu-ga's FsMount: directory, fs type, device major:minor and source.</summary>
internal sealed record FsMount(string Dir, string Type, uint Major, uint Minor, string Device);

/// <summary>
/// qemu-ga's build_fs_mount_list over /proc/self/mountinfo, in file order: octal escapes decoded,
/// mounts with device major 0 skipped (proc, tmpfs, ...) except btrfs, whose real device is looked up.
/// Falls back to /proc/self/mounts (skipping sources not starting with '/', smbfs and cifs).
/// </summary>
internal static class MountInfo
{
    public static List<FsMount> Read()
    {
        try { return Parse(File.ReadAllText("/proc/self/mountinfo"), BtrfsDevice); }
        catch (IOException)
        {
            return ParseMounts(File.ReadAllText("/proc/self/mounts"));
        }
    }

    public static List<FsMount> Parse(string text, Func<string, (uint, uint)?>? btrfsDevice = null)
    {
        var mounts = new List<FsMount>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0) continue;
            int dash = line.IndexOf(" - ", StringComparison.Ordinal);
            if (dash < 0) continue;
            var head = line[..dash].Split(' ');
            var tail = line[(dash + 3)..].Split(' ');
            if (head.Length < 5 || tail.Length < 2) continue;
            var mm = head[2].Split(':');
            if (mm.Length != 2 || !uint.TryParse(mm[0], CultureInfo.InvariantCulture, out var major)
                || !uint.TryParse(mm[1], CultureInfo.InvariantCulture, out var minor)) continue;
            var dir = Decode(head[4]);
            var type = tail[0];
            var device = Decode(tail[1]);
            if (major == 0)
            {
                if (type != "btrfs" || btrfsDevice?.Invoke(device) is not { } real) continue;
                (major, minor) = real;
            }
            mounts.Add(new FsMount(dir, type, major, minor, device));
        }
        return mounts;
    }

    public static List<FsMount> ParseMounts(string text)
    {
        var mounts = new List<FsMount>();
        foreach (var line in text.Split('\n'))
        {
            var f = line.Split(' ');
            if (f.Length < 3) continue;
            var device = Decode(f[0]);
            if (!device.StartsWith('/') || f[2] is "smbfs" or "cifs") continue;
            var dm = DeviceNumber(device);
            if (dm is null) continue;
            mounts.Add(new FsMount(Decode(f[1]), f[2], dm.Value.Item1, dm.Value.Item2, device));
        }
        return mounts;
    }

    /// <summary>mountinfo's \ooo escapes (space, tab, newline, backslash).</summary>
    public static string Decode(string s)
    {
        if (!s.Contains('\\', StringComparison.Ordinal)) return s;
        var bytes = new List<byte>(s.Length);
        var raw = Encoding.UTF8.GetBytes(s);
        for (int i = 0; i < raw.Length; i++)
        {
            if (raw[i] == '\\' && i + 3 < raw.Length && IsOctal(raw[i + 1]) && IsOctal(raw[i + 2]) && IsOctal(raw[i + 3]))
            {
                bytes.Add((byte)(((raw[i + 1] - '0') << 6) | ((raw[i + 2] - '0') << 3) | (raw[i + 3] - '0')));
                i += 3;
            }
            else bytes.Add(raw[i]);
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static bool IsOctal(byte b) => b is >= (byte)'0' and <= (byte)'7';

    private static (uint, uint)? BtrfsDevice(string device) => DeviceNumber(device);

    private static (uint, uint)? DeviceNumber(string device)
    {
        try
        {
            // /sys/class/block/<name>/dev holds "MAJ:MIN" without a stat P/Invoke.
            var real = new FileInfo(device).ResolveLinkTarget(true)?.FullName ?? device;
            var devFile = $"/sys/class/block/{Path.GetFileName(real)}/dev";
            if (!File.Exists(devFile)) return null;
            var mm = File.ReadAllText(devFile).Trim().Split(':');
            return (uint.Parse(mm[0], CultureInfo.InvariantCulture), uint.Parse(mm[1], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
