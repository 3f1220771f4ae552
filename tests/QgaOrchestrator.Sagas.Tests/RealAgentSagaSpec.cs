using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Persistence;
using QgaOrchestrator.Core.Sagas;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Sagas.Tests;

/// <summary>Runs only where real freezes are safe and possible: root, loop devices, the published qga-agent.</summary>
public sealed class RealAgentFactAttribute : FactAttribute
{
    public static string AgentBin => Environment.GetEnvironmentVariable("QGA_AGENT_BIN")
        ?? Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../artifacts/bin/qga-agent"));

    public RealAgentFactAttribute()
    {
        if (!File.Exists(AgentBin)) Skip = $"needs the published qga-agent at {AgentBin} (dotnet pwsh build.ps1 publish)";
        else if (Environment.UserName != "root") Skip = "needs root to loop-mount scratch ext4 filesystems";
    }
}

/// <summary>
/// The FreezeSnapshotThaw saga end to end: the real fleet, VM and channel actors, three real qga-agent
/// processes each confined to its own loop-mounted ext4, and a SQLite journal file.
/// </summary>
public sealed class RealAgentSagaSpec : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qga-saga-real-").FullName;
    private readonly List<Process> _agents = [];
    private readonly List<string> _mounts = [];

    private static int Sh(string command)
    {
        using var p = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command]) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true })!;
        p.WaitForExit();
        return p.ExitCode;
    }

    /// <summary>A write from a child process blocks while the filesystem is frozen; the child is returned still running.</summary>
    private static Process StartWriter(string mount) =>
        Process.Start(new ProcessStartInfo("/bin/sh", ["-c", $"echo x >> {mount}/writes"]) { UseShellExecute = false })!;

    private VmConfig StartGuest(string id)
    {
        var mount = Path.Combine(_dir, id);
        Directory.CreateDirectory(mount);
        Assert.Equal(0, Sh($"truncate -s 32M {mount}.img && mkfs.ext4 -q {mount}.img && mount -o loop {mount}.img {mount}"));
        _mounts.Add(mount);
        var state = Path.Combine(_dir, id + "-state");
        Directory.CreateDirectory(state);
        var socket = Path.Combine(state, "qga.sock");
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
        return new VmConfig { Id = id, QgaSocket = socket };
    }

    [RealAgentFact]
    public async Task FreezeSnapshotThaw_must_hold_every_real_guest_frozen_until_the_snapshot_is_done_then_thaw_all()
    {
        var vms = new[] { "g1", "g2", "g3" }.Select(StartGuest).ToList();
        var system = ActorSystem.Create("real", SagaPersistence.Sqlite(_dir).WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING")));
        var writers = new List<Process>();
        try
        {
            var probe = new TestProbe(system, new XunitAssertions());
            var fleet = system.ActorOf(FleetManager.Props(new FleetManager.Settings { Vms = vms }), FleetManager.ActorName);
            var manager = system.ActorOf(SagaManager.Props(fleet, new SagaManager.Settings()), "sagas");

            manager.Tell(new SagaManager.StartFreeze("real-1", SnapshotMode.External, "nightly", probe.Ref,
                VmIds: vms.Select(v => v.Id).ToList(), Deadline: TimeSpan.FromSeconds(30)));
            await probe.ExpectMsgAsync<FreezeSnapshotThaw.Started>(TimeSpan.FromSeconds(20));
            var allFrozen = await probe.ExpectMsgAsync<FreezeSnapshotThaw.AllFrozen>(TimeSpan.FromSeconds(30));
            Assert.Equal(["g1", "g2", "g3"], allFrozen.VmIds.Order().ToArray());

            // The kernel agrees: every guest's filesystem blocks writes while the saga holds the freeze.
            writers.AddRange(_mounts.Select(StartWriter));
            Assert.All(writers, w => Assert.False(w.WaitForExit(300), "a write went through while frozen"));

            manager.Tell(new SagaManager.SnapshotDone("real-1"));
            var finished = await probe.FishForMessageAsync<FreezeSnapshotThaw.Finished>(m => m is FreezeSnapshotThaw.Finished, TimeSpan.FromSeconds(30));
            Assert.Equal(SagaOutcome.Completed, finished.Outcome);
            Assert.All(writers, w => Assert.True(w.WaitForExit(10_000), "a write stayed blocked after the thaw"));
            foreach (var vm in finished.State.Vms.Values)
            {
                Assert.NotNull(vm.FrozenAt);
                Assert.NotNull(vm.ThawedAt);
            }
        }
        finally
        {
            await system.Terminate();
            foreach (var w in writers) w.Dispose();
        }
    }

    [RealAgentFact]
    public async Task FreezeSnapshotThaw_must_thaw_every_real_guest_when_the_deadline_passes_without_a_snapshot()
    {
        var vms = new[] { "d1", "d2" }.Select(StartGuest).ToList();
        var system = ActorSystem.Create("real-deadline", SagaPersistence.Sqlite(_dir).WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING")));
        var writers = new List<Process>();
        try
        {
            var probe = new TestProbe(system, new XunitAssertions());
            var fleet = system.ActorOf(FleetManager.Props(new FleetManager.Settings { Vms = vms }), FleetManager.ActorName);
            var manager = system.ActorOf(SagaManager.Props(fleet, new SagaManager.Settings()), "sagas");

            manager.Tell(new SagaManager.StartFreeze("real-2", SnapshotMode.External, "nightly", probe.Ref,
                VmIds: vms.Select(v => v.Id).ToList(), Deadline: TimeSpan.FromSeconds(3)));
            await probe.FishForMessageAsync(m => m is FreezeSnapshotThaw.AllFrozen, TimeSpan.FromSeconds(30));
            writers.AddRange(_mounts.Select(StartWriter));
            Assert.All(writers, w => Assert.False(w.WaitForExit(300), "a write went through while frozen"));

            // No SnapshotDone: the deadline must end the saga and thaw everything.
            var finished = await probe.FishForMessageAsync<FreezeSnapshotThaw.Finished>(m => m is FreezeSnapshotThaw.Finished, TimeSpan.FromSeconds(30));
            Assert.NotEqual(SagaOutcome.Completed, finished.Outcome);
            Assert.All(writers, w => Assert.True(w.WaitForExit(10_000), "a write stayed blocked after the deadline"));
        }
        finally
        {
            await system.Terminate();
            foreach (var w in writers) w.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var m in _mounts) Sh($"fsfreeze -u {m} 2>/dev/null; umount {m} 2>/dev/null");
        foreach (var a in _agents)
        {
            if (!a.HasExited) { a.Kill(); a.WaitForExit(5000); }
            a.Dispose();
        }
        Directory.Delete(_dir, recursive: true);
    }
}
