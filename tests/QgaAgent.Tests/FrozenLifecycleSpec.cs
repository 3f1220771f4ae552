using System.Diagnostics;

namespace QgaAgent.Tests;

/// <summary>The freeze hook, SIGTERM while frozen, and the frozen marker across a SIGKILL and restart, on a real loop mount.</summary>
public sealed class FrozenLifecycleSpec
{
    private static int Sh(string command)
    {
        using var p = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command]) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true })!;
        p.WaitForExit();
        return p.ExitCode;
    }

    private static bool KernelSaysFrozen(string mount)
    {
        // FITHAW on a frozen fs succeeds (and thaws it); so probe with a child write instead, which blocks while frozen.
        using var writer = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", $"echo x > {mount}/probe"]) { UseShellExecute = false })!;
        return !writer.WaitForExit(300);
    }

    [AgentBinaryFact(needsRoot: true)]
    public void Agent_must_run_hooks_thaw_on_SIGTERM_and_honour_the_marker_after_a_crash()
    {
        var dir = Directory.CreateTempSubdirectory("qga-life").FullName;
        var m = Path.Combine(dir, "m");
        var state = Path.Combine(dir, "state");
        var hook = Path.Combine(dir, "hook.sh");
        var hookLog = Path.Combine(dir, "hook.log");
        var failFlag = Path.Combine(dir, "fail");
        Directory.CreateDirectory(state);
        Directory.CreateDirectory(m);
        File.WriteAllText(hook, $"#!/bin/sh\necho \"$1\" >> {hookLog}\n[ -f {failFlag} ] && exit 3\nexit 0\n");
        Assert.Equal(0, Sh($"chmod +x {hook} && truncate -s 32M {m}.img && mkfs.ext4 -q {m}.img && mount -o loop {m}.img {m}"));
        string[] args = [$"-F{hook}", $"--fsfreeze-mountpoints={m}", "--freeze-timeout", "0"];
        try
        {
            // A failing freeze hook aborts the freeze: an error, and nothing frozen.
            using (var agent = new AgentProcess(AgentProcess.AgentBin, state, args))
            using (var c = agent.Connect())
            {
                File.WriteAllText(failFlag, "");
                Assert.Contains("fsfreeze hook has failed with status 3", c.Call("{\"execute\":\"guest-fsfreeze-freeze\"}"));
                Assert.Equal("{\"return\": \"thawed\"}", c.Call("{\"execute\":\"guest-fsfreeze-status\"}"));
                Assert.False(KernelSaysFrozen(m));
                File.Delete(failFlag);

                // SIGTERM while frozen: the agent thaws, then exits 0.
                Assert.Equal("{\"return\": 1}", c.Call("{\"execute\":\"guest-fsfreeze-freeze\"}"));
                Assert.Equal(0, Sh($"kill -TERM {agent.Pid}"));
                Assert.True(agent.WaitForExit(10_000));
                Assert.Equal(0, agent.ExitCode);
                Assert.False(KernelSaysFrozen(m));
                Assert.False(File.Exists(Path.Combine(state, "qga.state.isfrozen")));
            }

            // SIGKILL while frozen leaves the fs frozen and the marker behind; a restarted agent starts frozen.
            using (var agent = new AgentProcess(AgentProcess.AgentBin, state, args))
            {
                using (var c = agent.Connect())
                    Assert.Equal("{\"return\": 1}", c.Call("{\"execute\":\"guest-fsfreeze-freeze\"}"));
                Assert.Equal(0, Sh($"kill -KILL {agent.Pid}"));
                Assert.True(agent.WaitForExit(10_000));
            }
            Assert.True(File.Exists(Path.Combine(state, "qga.state.isfrozen")));
            Assert.True(KernelSaysFrozen(m)); // the blocked writer finishes once the restarted agent thaws
            File.Delete(Path.Combine(state, "qga.sock"));
            using (var agent = new AgentProcess(AgentProcess.AgentBin, state, args))
            using (var c = agent.Connect())
            {
                Assert.Equal("{\"return\": \"frozen\"}", c.Call("{\"execute\":\"guest-fsfreeze-status\"}"));
                Assert.Contains("has been disabled", c.Call($"{{\"execute\":\"guest-file-open\",\"arguments\":{{\"path\":\"{dir}/x\",\"mode\":\"w\"}}}}"));
                Assert.Equal("{\"return\": 1}", c.Call("{\"execute\":\"guest-fsfreeze-thaw\"}"));
                Assert.False(KernelSaysFrozen(m));
            }
            // The thaw hook runs after the thaw.
            Assert.Equal("thaw", File.ReadAllLines(hookLog)[^1]);
        }
        finally
        {
            Sh($"fsfreeze -u {m} 2>/dev/null; umount {m} 2>/dev/null");
            Directory.Delete(dir, recursive: true);
        }
    }
}
