namespace QgaOrchestrator.Vm.Tests.Infrastructure;

/// <summary>
/// What a real-VM test needs on this machine, checked once: null when everything is there, else the
/// first missing piece and how to get it.
/// </summary>
public static class VmRequirements
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string ToolsDir => Path.Combine(RepoRoot, "tools", "vm");

    /// <summary>QGA_AGENT_BIN, else the published agent under artifacts/bin.</summary>
    public static string AgentBinary =>
        Environment.GetEnvironmentVariable("QGA_AGENT_BIN") is { Length: > 0 } env ? env : Path.Combine(RepoRoot, "artifacts", "bin", "qga-agent");

    public static readonly Lazy<string?> Missing = new(FindMissing);

    /// <summary>Null when the host can give a guest a vhost-vsock device and socat can reach it.</summary>
    public static readonly Lazy<string?> VsockMissing = new(FindVsockMissing);

    private static string? FindMissing()
    {
        if (!OperatingSystem.IsLinux()) return "real-VM tests need Linux";
        if (Environment.UserName != "root") return "real-VM tests need root (QEMU, mkfs on disk images)";
        foreach (var (tool, package) in new[]
                 {
                     ("qemu-system-x86_64", "qemu-system-x86"), ("qemu-img", "qemu-utils"), ("busybox", "busybox-static"),
                     ("cpio", "cpio"), ("modinfo", "kmod"), ("mkfs.ext4", "e2fsprogs"),
                 })
            if (OnPath(tool) is null) return $"{tool} not found (apt-get install {package})";
        if (!Directory.Exists("/boot") || Directory.GetFiles("/boot", "vmlinuz-*").Length == 0)
            return "no Debian kernel in /boot/vmlinuz-* (apt-get install linux-image-amd64)";
        if (!File.Exists(AgentBinary)) return $"qga-agent binary not found at {AgentBinary} (set QGA_AGENT_BIN or run `dotnet pwsh build.ps1 publish`)";
        return null;
    }

    private static string? FindVsockMissing()
    {
        if (Missing.Value is { } why) return why;
        if (OnPath("socat") is null) return "socat not found (apt-get install socat); .NET has no AF_VSOCK endpoint, socat bridges it to a unix socket";
        if (!File.Exists("/dev/vhost-vsock"))
        {
            var modprobe = Shell.Run("modprobe vhost_vsock");
            if (!File.Exists("/dev/vhost-vsock"))
                return $"the host cannot give guests vsock: no /dev/vhost-vsock after `modprobe vhost_vsock` ({modprobe.Output.Trim()})";
        }
        return null;
    }

    public static string? OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':')
            .Concat(["/usr/sbin", "/sbin"])
            .Select(d => Path.Combine(d, tool))
            .FirstOrDefault(File.Exists);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "QgaOrchestrator.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("QgaOrchestrator.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A test against real QEMU guests: skipped, with the reason, where they cannot run.</summary>
public sealed class VmFactAttribute : FactAttribute
{
    public VmFactAttribute()
    {
        if (VmRequirements.Missing.Value is { } why) Skip = why;
    }
}

/// <summary>A test of the vsock channel: also needs vhost-vsock on the host.</summary>
public sealed class VsockFactAttribute : FactAttribute
{
    public VsockFactAttribute()
    {
        if (VmRequirements.VsockMissing.Value is { } why) Skip = why;
    }
}
