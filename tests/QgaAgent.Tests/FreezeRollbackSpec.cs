using System.Diagnostics;
using QgaAgent.Commands.Linux;
using QgaAgent.Dispatch;
using QgaAgent.Platform;
using QgaAgent.Runtime;

namespace QgaAgent.Tests;

/// <summary>
/// A freeze that fails part-way must leave nothing frozen (qemu-ga: the failing FIFREEZE gives
/// "failed to freeze DIR: strerror", then qmp_guest_fsfreeze_thaw(NULL) thaws every mount).
/// </summary>
public sealed class FreezeRollbackSpec : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qga-rollback").FullName;

    /// <summary>Records every ioctl; FIFREEZE on <see cref="FailOn"/> returns <see cref="FailErrno"/>.</summary>
    private sealed class FakeFreezer(params string[] dirs) : IFsFreezer
    {
        private readonly Dictionary<string, int> _depth = dirs.ToDictionary(d => d, _ => 0);
        public List<string> Calls { get; } = [];
        public Dictionary<string, int> SkipErrno { get; } = [];
        public string? FailOn { get; init; }
        public int FailErrno { get; init; } = Libc.EIO;

        public IReadOnlyList<FsMount> Mounts() => dirs.Select(d => new FsMount(d, "ext4", 7, 0, "/dev/loop0")).ToList();

        public bool IsFrozen(string dir) => _depth[dir] > 0;

        public int Freeze(string dir, out bool openFailed)
        {
            openFailed = false;
            Calls.Add("freeze " + dir);
            if (dir == FailOn) return FailErrno;
            if (SkipErrno.TryGetValue(dir, out int e)) return e;
            _depth[dir]++;
            return 0;
        }

        public int ThawOnce(string dir, out bool openFailed)
        {
            openFailed = false;
            Calls.Add("thaw " + dir);
            if (_depth[dir] == 0) return Libc.EINVAL;
            _depth[dir]--;
            return 0;
        }

        public int Trim(string dir, ulong minimum, out ulong trimmed, out bool openFailed) => throw new NotSupportedException();
    }

    private (FreezeService Service, FreezeGate Gate, AgentState State) Build(FakeFreezer fs)
    {
        var gate = new FreezeGate(null, []);
        var state = new AgentState(_dir);
        var options = new AgentOptions { StateDir = _dir, FreezeTimeoutSeconds = 0 };
        return (new FreezeService(fs, options, state, new AgentLog(null, false), gate, new object()), gate, state);
    }

    [Fact]
    public void FreezeService_must_thaw_the_already_frozen_mounts_when_a_later_FIFREEZE_fails()
    {
        // Mount order /a, /b, /c: freezing walks it backwards, so /c and /b are frozen before /a fails.
        var fs = new FakeFreezer("/a", "/b", "/c") { FailOn = "/a" };
        var (service, gate, state) = Build(fs);

        var e = Assert.Throws<CommandFailedException>(() => service.Freeze(null));

        Assert.Equal("failed to freeze /a: Input/output error", e.Message);
        Assert.Equal(["freeze /c", "freeze /b", "freeze /a"], fs.Calls.Take(3));
        Assert.False(fs.IsFrozen("/b") || fs.IsFrozen("/c"));
        Assert.Contains("thaw /b", fs.Calls.Skip(3));
        Assert.Contains("thaw /c", fs.Calls.Skip(3));
        Assert.False(gate.Frozen);
        Assert.False(state.MarkerExists);
    }

    [Fact]
    public void FreezeService_must_skip_EOPNOTSUPP_and_EBUSY_without_rolling_back()
    {
        var fs = new FakeFreezer("/a", "/b", "/c");
        fs.SkipErrno["/a"] = Libc.EOPNOTSUPP;
        fs.SkipErrno["/b"] = Libc.EBUSY;
        var (service, gate, state) = Build(fs);

        Assert.Equal(1, service.Freeze(null));

        Assert.True(fs.IsFrozen("/c"));
        Assert.DoesNotContain(fs.Calls, c => c.StartsWith("thaw", StringComparison.Ordinal));
        Assert.True(gate.Frozen);
        Assert.True(state.MarkerExists);
        Assert.Equal(1, service.Thaw());
        Assert.False(fs.IsFrozen("/c"));
    }

    [Fact]
    public void FreezeService_must_roll_back_a_freeze_list_that_fails_on_its_second_mount()
    {
        var fs = new FakeFreezer("/a", "/b", "/c") { FailOn = "/a", FailErrno = Libc.EPERM };
        var (service, gate, _) = Build(fs);

        var e = Assert.Throws<CommandFailedException>(() => service.Freeze(["/a", "/c"]));

        Assert.Equal("failed to freeze /a: Operation not permitted", e.Message);
        Assert.Equal(["freeze /c", "freeze /a"], fs.Calls.Take(2));
        Assert.False(fs.IsFrozen("/c"));
        Assert.False(gate.Frozen);
    }

    private static int Sh(string command)
    {
        using var p = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command]) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true })!;
        p.WaitForExit();
        return p.ExitCode;
    }

    // No device-mapper here, so the failing fs is an ext4 whose loop image lives on a 6 MiB tmpfs:
    // 16 MiB of dirty data cannot be written back, and the kernel's FIFREEZE returns EIO.
    [AgentBinaryFact(needsRoot: true)]
    public void Agent_must_thaw_the_first_mount_when_the_kernel_fails_to_freeze_the_second()
    {
        var tmpfs = Path.Combine(_dir, "t");
        var bad = Path.Combine(_dir, "bad");
        var good = Path.Combine(_dir, "good");
        var state = Path.Combine(_dir, "state");
        foreach (var d in new[] { tmpfs, bad, good, state }) Directory.CreateDirectory(d);
        try
        {
            // Mounted first, so it comes later in the agent's reverse walk.
            Assert.Equal(0, Sh($"mount -t tmpfs -o size=6M tmpfs {tmpfs} && truncate -s 64M {tmpfs}/b.img && mkfs.ext4 -q {tmpfs}/b.img && mount -o loop,errors=continue {tmpfs}/b.img {bad}"));
            Assert.Equal(0, Sh($"truncate -s 32M {good}.img && mkfs.ext4 -q {good}.img && mount -o loop {good}.img {good}"));
            Assert.Equal(0, Sh($"dd if=/dev/zero of={bad}/fill bs=1M count=16 2>/dev/null"));
            using var agent = new AgentProcess(AgentProcess.AgentBin, state, $"--fsfreeze-mountpoints={bad},{good}", "--freeze-timeout", "0");
            using var c = agent.Connect();

            Assert.Equal($"{{\"error\": {{\"class\": \"GenericError\", \"desc\": \"failed to freeze {bad}: Input/output error\"}}}}",
                c.Call("{\"execute\":\"guest-fsfreeze-freeze\"}"));

            Assert.Equal("{\"return\": \"thawed\"}", c.Call("{\"execute\":\"guest-fsfreeze-status\"}"));
            Assert.False(File.Exists(Path.Combine(state, "qga.state.isfrozen")));
            // The kernel's view: a child write to the good fs completes, and FITHAW says it is not frozen (EINVAL).
            using (var writer = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", $"echo x > {good}/probe"]) { UseShellExecute = false })!)
                Assert.True(writer.WaitForExit(10_000), "a write to the first mount blocked: the rollback left it frozen");
            Assert.NotEqual(0, Sh($"fsfreeze -u {good}"));
            // The good fs alone still freezes and thaws: the agent is usable after the failure.
            Assert.Equal("{\"return\": 1}", c.Call($"{{\"execute\":\"guest-fsfreeze-freeze-list\",\"arguments\":{{\"mountpoints\":[\"{good}\"]}}}}"));
            Assert.Equal("{\"return\": 1}", c.Call("{\"execute\":\"guest-fsfreeze-thaw\"}"));
        }
        finally
        {
            Sh($"fsfreeze -u {good} 2>/dev/null; umount {good} 2>/dev/null; umount {bad} 2>/dev/null; umount {tmpfs} 2>/dev/null");
        }
    }

    public void Dispose()
    {
        // Never recurse into a mount that failed to come off.
        if (!File.ReadAllText("/proc/self/mountinfo").Contains(_dir, StringComparison.Ordinal)) Directory.Delete(_dir, recursive: true);
    }
}
