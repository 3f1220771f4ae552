using QgaAgent.Dispatch;
using QgaAgent.Platform;
using QgaAgent.Runtime;
using QgaOrchestrator.Protocol;
using QgaOrchestrator.Protocol.Qga;

namespace QgaAgent.Commands;

/// <summary>sync, sync-delimited, ping, info, time, host name, osinfo (qga/commands.c, commands-posix.c).</summary>
internal static class CommonCommands
{
    public static void Register(CommandRegistry registry, FreezeGate gate, string osReleaseRoot = "/")
    {
        registry.Register(QgaCommands.GuestSyncDelimited, a => a.Id);
        registry.Register(QgaCommands.GuestSync, a => a.Id);
        registry.Register(QgaCommands.GuestPing, _ => EmptyReturn.Instance);
        registry.Register(QgaCommands.GuestInfo, _ => new GuestAgentInfo
        {
            Version = AgentVersion.Version,
            SupportedCommands = registry.Commands.Select(c => new GuestAgentCommandInfo
            {
                Name = c.Descriptor.Name,
                Enabled = gate.IsAllowed(c.Descriptor.Name),
                SuccessResponse = c.Descriptor.SuccessResponse,
            }).ToList(),
        });
        // g_get_real_time() is in microseconds; qemu-ga multiplies by 1000.
        registry.Register(QgaCommands.GuestGetTime, _ => (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / 10 * 1000);
        registry.Register(QgaCommands.GuestGetHostName, _ => new GuestHostName { HostName = HostName() });
        registry.Register(QgaCommands.GuestGetOsinfo, _ => OsInfo(osReleaseRoot));
    }

    private static string HostName()
    {
        try { return File.ReadAllText("/proc/sys/kernel/hostname").Trim(); }
        catch (IOException) { return Environment.MachineName; }
    }

    public static GuestOSInfo OsInfo(string root)
    {
        var u = Uname.Get();
        var release = ReadOsRelease(Path.Combine(root, "etc/os-release")) ?? ReadOsRelease(Path.Combine(root, "usr/lib/os-release")) ?? [];
        string? F(string key) => release.TryGetValue(key, out var v) ? v : null;
        return new GuestOSInfo
        {
            KernelRelease = u[2], KernelVersion = u[3], Machine = u[4],
            Id = F("ID"), Name = F("NAME"), PrettyName = F("PRETTY_NAME"), Version = F("VERSION"),
            VersionId = F("VERSION_ID"), Variant = F("VARIANT"), VariantId = F("VARIANT_ID"),
        };
    }

    /// <summary>os-release(5): KEY=VALUE with optional shell quoting; as qemu-ga's ga_parse_osrelease.</summary>
    public static Dictionary<string, string>? ReadOsRelease(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        return ParseOsRelease(text);
    }

    public static Dictionary<string, string> ParseOsRelease(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) continue;
            var value = line[(eq + 1)..];
            if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
            {
                var inner = value[1..^1];
                value = value[0] == '"' ? UnescapeDouble(inner) : inner;
            }
            result[line[..eq]] = value;
        }
        return result;
    }

    private static string UnescapeDouble(string s)
    {
        if (!s.Contains('\\', StringComparison.Ordinal)) return s;
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 1 < s.Length && "\"\\$`".Contains(s[i + 1], StringComparison.Ordinal)) i++;
            sb.Append(s[i]);
        }
        return sb.ToString();
    }
}
