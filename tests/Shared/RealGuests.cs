using System.Diagnostics;
using QgaOrchestrator.Core.Vms;

// Shared source: linked into the Host and Sagas test projects (<Compile Include=... Link=...>), one copy per assembly.
namespace QgaOrchestrator.Tests.Shared;

/// <summary>Runs only where real freezes are safe and possible: root, loop devices, the published qga-agent.</summary>
public sealed class RealAgentFactAttribute : FactAttribute
{
    public static string AgentBin => Environment.GetEnvironmentVariable("QGA_AGENT_BIN")
        ?? Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../artifacts/bin/qga-agent"));

    public static string? SkipReason =>
        !File.Exists(AgentBin) ? $"needs the published qga-agent at {AgentBin} (dotnet pwsh build.ps1 publish)"
        : Environment.UserName != "root" ? "needs root to loop-mount scratch ext4 filesystems"
        : null;

    public RealAgentFactAttribute()
    {
        if (SkipReason is { } why) Skip = why; // null when root, loop devices and the agent are all here
    }
}

public sealed class RealAgentTheoryAttribute : TheoryAttribute
{
    public RealAgentTheoryAttribute()
    {
        if (RealAgentFactAttribute.SkipReason is { } why) Skip = why;
    }
}

/// <summary>
/// Scratch "guests": each a loop-mounted 32 MiB ext4 under a temp dir with a real qga-agent (unix-listen)
/// confined to it by <c>--fsfreeze-mountpoints</c>, so a freeze or trim touches nothing else. Agents can be
/// SIGKILLed and restarted on the same state dir (a frozen marker makes the new one start frozen).
/// Dispose thaws, unmounts, stops and deletes everything.
/// </summary>
internal sealed class RealGuests : IDisposable
{
    private readonly string _dir;
    private readonly Dictionary<string, Guest> _guests = [];
    private readonly List<Process> _writers = [];

    public RealGuests(string prefix) => _dir = Directory.CreateTempSubdirectory(prefix).FullName;

    public string Dir => _dir;

    public IReadOnlyCollection<string> Ids => _guests.Keys;

    /// <summary>Every mounted scratch filesystem, in start order.</summary>
    public IReadOnlyList<string> Mounts => _guests.Values.Select(g => g.Mount).ToList();

    public string Mount(string id) => _guests[id].Mount;

    private sealed class Guest(string mount, string stateDir, string socket, string[] extraArgs)
    {
        public string Mount { get; } = mount;
        public string StateDir { get; } = stateDir;
        public string Socket { get; } = socket;
        public string[] ExtraArgs { get; } = extraArgs;
        public Process? Agent { get; set; }
    }

    public static int Sh(string command)
    {
        using var p = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command]) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true })!;
        p.WaitForExit();
        return p.ExitCode;
    }

    /// <summary>Makes and mounts the filesystem, starts its agent (with <paramref name="extraArgs"/>), waits for the socket.</summary>
    public VmConfig Start(string id, params string[] extraArgs)
    {
        var mount = Path.Combine(_dir, id);
        Directory.CreateDirectory(mount);
        Assert.Equal(0, Sh($"truncate -s 32M {mount}.img && mkfs.ext4 -q {mount}.img && mount -o loop {mount}.img {mount}"));
        var state = Path.Combine(_dir, id + "-state");
        Directory.CreateDirectory(state);
        var guest = new Guest(mount, state, Path.Combine(state, "qga.sock"), extraArgs);
        _guests[id] = guest;
        StartAgent(id, guest);
        return new VmConfig { Id = id, QgaSocket = guest.Socket };
    }

    /// <summary>
    /// A VM configured on a socket no agent listens on: for fixtures that still run their agent-free tests
    /// where <see cref="RealAgentFactAttribute.SkipReason"/> says real agents cannot run.
    /// </summary>
    public VmConfig Absent(string id)
    {
        var state = Path.Combine(_dir, id + "-state");
        Directory.CreateDirectory(state);
        return new VmConfig { Id = id, QgaSocket = Path.Combine(state, "qga.sock") };
    }

    private static void StartAgent(string id, Guest g)
    {
        var psi = new ProcessStartInfo(RealAgentFactAttribute.AgentBin) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-m", "unix-listen", "-p", g.Socket, "-t", g.StateDir, $"--fsfreeze-mountpoints={g.Mount}", "--freeze-timeout", "60" }.Concat(g.ExtraArgs))
            psi.ArgumentList.Add(a);
        File.Delete(g.Socket);
        var agent = Process.Start(psi)!;
        agent.BeginErrorReadLine();
        agent.BeginOutputReadLine();
        g.Agent = agent;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!File.Exists(g.Socket) && DateTime.UtcNow < deadline && !agent.HasExited) Thread.Yield();
        Assert.True(File.Exists(g.Socket), $"{id}: agent did not create its socket");
    }

    /// <summary>SIGKILL: the agent gets no chance to thaw; the kernel keeps the filesystem frozen.</summary>
    public void Kill(string id)
    {
        var agent = _guests[id].Agent!;
        agent.Kill();
        agent.WaitForExit();
        agent.Dispose();
        _guests[id].Agent = null;
    }

    /// <summary>A new agent on the same socket and state dir (it starts frozen if the old one left its marker).</summary>
    public void Restart(string id) => StartAgent(id, _guests[id]);

    public bool AgentMarkerExists(string id) => Directory.EnumerateFiles(_guests[id].StateDir, "*.isfrozen").Any();

    /// <summary>A write from a child process; it stays blocked (not exited) while the filesystem is frozen.</summary>
    public Process StartWriter(string id)
    {
        var w = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", $"echo x >> {_guests[id].Mount}/writes"]) { UseShellExecute = false })!;
        _writers.Add(w);
        return w;
    }

    /// <summary>The kernel's view: a child's write is still blocked after <paramref name="ms"/>.</summary>
    public bool WritesBlock(string id, int ms = 300) => !StartWriter(id).WaitForExit(ms);

    /// <summary>The kernel's view: a child's write completes (within 10 s, the machine is loaded).</summary>
    public bool WritesGoThrough(string id) => StartWriter(id).WaitForExit(10_000);

    /// <summary>
    /// <c>fsfreeze -u</c> succeeds only on a frozen filesystem (EINVAL otherwise). It thaws it too, so this
    /// is a final check only.
    /// </summary>
    public bool KernelHadItFrozen(string id) => Sh($"fsfreeze -u {_guests[id].Mount}") == 0;

    /// <summary>The final check: for every guest a child's write completes and <c>fsfreeze -u</c> finds nothing frozen.</summary>
    public void AssertKernelThawedAll()
    {
        foreach (var id in Ids)
        {
            Assert.True(WritesGoThrough(id), $"{id}: a write is still blocked");
            Assert.False(KernelHadItFrozen(id), $"{id}: fsfreeze -u found it frozen");
        }
    }

    public void Dispose()
    {
        foreach (var g in _guests.Values) Sh($"fsfreeze -u {g.Mount} 2>/dev/null");
        foreach (var w in _writers) // released by the thaw; an open file would keep umount busy
        {
            w.WaitForExit(5000);
            w.Dispose();
        }
        foreach (var g in _guests.Values) Sh($"umount {g.Mount} 2>/dev/null");
        foreach (var g in _guests.Values)
        {
            if (g.Agent is not { } a) continue;
            if (!a.HasExited) { a.Kill(); a.WaitForExit(5000); }
            a.Dispose();
        }
        Directory.Delete(_dir, recursive: true);
    }
}
