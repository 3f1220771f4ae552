using System.Diagnostics;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Host.Tests;

/// <summary>Runs only where real guests are safe and possible: root, loop devices, the published qga-agent.</summary>
public sealed class RealAgentFactAttribute : FactAttribute
{
    public static string AgentBin => Environment.GetEnvironmentVariable("QGA_AGENT_BIN")
        ?? Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../artifacts/bin/qga-agent"));

    public static string? SkipReason =>
        !File.Exists(AgentBin) ? $"needs the published qga-agent at {AgentBin} (dotnet pwsh build.ps1 publish)"
        : Environment.UserName != "root" ? "needs root to loop-mount scratch ext4 filesystems"
        : null;

    public RealAgentFactAttribute() => Skip = SkipReason;
}

/// <summary>
/// "Guests" for the host tests: one real qga-agent per VM in unix-listen mode, each confined with
/// --fsfreeze-mountpoints to its own loop-mounted 32 MiB ext4, so a freeze or trim touches nothing else.
/// Everything is thawed, unmounted, stopped and deleted on dispose.
/// </summary>
public sealed class ScratchGuests : IDisposable
{
    private readonly List<Process> _agents = [];
    private readonly List<string> _mounts = [];

    public string Dir { get; } = Directory.CreateTempSubdirectory("qga-host-").FullName;

    public IReadOnlyList<string> Mounts => _mounts;

    public static int Sh(string command)
    {
        using var p = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command]) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true })!;
        p.WaitForExit();
        return p.ExitCode;
    }

    /// <summary>A VM whose agent runs (when <see cref="RealAgentFactAttribute.SkipReason"/> is null) or whose socket is absent.</summary>
    public VmConfig Start(string id, IReadOnlyDictionary<string, string> labels, string? qmpSocket = null, IReadOnlyList<string>? disks = null)
    {
        var state = Path.Combine(Dir, id + "-state");
        Directory.CreateDirectory(state);
        var socket = Path.Combine(state, "qga.sock");
        var config = new VmConfig { Id = id, QgaSocket = socket, QmpSocket = qmpSocket, Labels = labels, Disks = disks ?? [] };
        if (RealAgentFactAttribute.SkipReason is not null) return config;

        var mount = Path.Combine(Dir, id);
        Directory.CreateDirectory(mount);
        Assert.Equal(0, Sh($"truncate -s 32M {mount}.img && mkfs.ext4 -q {mount}.img && mount -o loop {mount}.img {mount}"));
        _mounts.Add(mount);
        var psi = new ProcessStartInfo(RealAgentFactAttribute.AgentBin) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-m", "unix-listen", "-p", socket, "-t", state, $"--fsfreeze-mountpoints={mount}", "--freeze-timeout", "60" })
            psi.ArgumentList.Add(a);
        var agent = Process.Start(psi)!;
        agent.BeginErrorReadLine();
        agent.BeginOutputReadLine();
        _agents.Add(agent);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!File.Exists(socket) && DateTime.UtcNow < deadline && !agent.HasExited) Thread.Yield();
        Assert.True(File.Exists(socket), $"{id}: agent did not create its socket");
        return config;
    }

    public void Dispose()
    {
        foreach (var m in _mounts) Sh($"fsfreeze -u {m} 2>/dev/null; umount {m} 2>/dev/null");
        foreach (var a in _agents)
        {
            if (!a.HasExited)
            {
                a.Kill();
                a.WaitForExit(5000);
            }
            a.Dispose();
        }
        Directory.Delete(Dir, recursive: true);
    }
}
