using System.Diagnostics;

namespace QgaAgent.Tests;

/// <summary>Real FIFREEZE/FITHAW/FITRIM on two loop-mounted ext4 images named by --fsfreeze-mountpoints.</summary>
public sealed class FreezeSpec
{
    private static int Sh(string command)
    {
        using var p = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command]) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true })!;
        p.WaitForExit();
        return p.ExitCode;
    }

    [AgentBinaryFact(needsRoot: true)]
    public void Agent_must_freeze_thaw_trim_and_self_thaw_only_the_named_loop_mounts()
    {
        var dir = Directory.CreateTempSubdirectory("qga-freeze").FullName;
        var m1 = Path.Combine(dir, "m1");
        var m2 = Path.Combine(dir, "m2");
        var state = Path.Combine(dir, "state");
        Directory.CreateDirectory(state);
        try
        {
            foreach (var m in new[] { m1, m2 })
            {
                Directory.CreateDirectory(m);
                Assert.Equal(0, Sh($"truncate -s 32M {m}.img && mkfs.ext4 -q {m}.img && mount -o loop {m}.img {m}"));
            }
            using var agent = new AgentProcess(AgentProcess.AgentBin, state, $"--fsfreeze-mountpoints={m1},{m2}", "--freeze-timeout", "2");
            using var c = agent.Connect();
            Assert.Equal("{\"return\": 2}", c.Call("{\"execute\":\"guest-fsfreeze-freeze\"}"));
            Assert.Equal("{\"return\": \"frozen\"}", c.Call("{\"execute\":\"guest-fsfreeze-status\"}"));
            Assert.True(File.Exists(Path.Combine(state, "qga.state.isfrozen")));
            Assert.Contains("has been disabled", c.Call($"{{\"execute\":\"guest-file-open\",\"arguments\":{{\"path\":\"{dir}/x\",\"mode\":\"w\"}}}}"));
            Assert.Equal("{\"return\": {}}", c.Call("{\"execute\":\"guest-ping\"}"));
            // The kernel state, checked independently: a write from a child blocks until thaw.
            using var writer = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", $"echo x > {m1}/f"]) { UseShellExecute = false })!;
            Assert.False(writer.WaitForExit(300));
            Assert.Equal("{\"return\": 2}", c.Call("{\"execute\":\"guest-fsfreeze-thaw\"}"));
            Assert.True(writer.WaitForExit(10000));
            Assert.False(File.Exists(Path.Combine(state, "qga.state.isfrozen")));
            var trim = c.Call("{\"execute\":\"guest-fstrim\"}");
            Assert.Contains($"\"path\": \"{m1}\"", trim);
            Assert.Contains($"\"path\": \"{m2}\"", trim);
            Assert.DoesNotContain("\"path\": \"/\"", trim);
            // Self-thaw deadline: freeze and send nothing.
            Assert.Equal("{\"return\": 1}", c.Call($"{{\"execute\":\"guest-fsfreeze-freeze-list\",\"arguments\":{{\"mountpoints\":[\"{m2}\"]}}}}"));
            var deadline = DateTime.UtcNow.AddSeconds(15);
            string status;
            do { status = c.Call("{\"execute\":\"guest-fsfreeze-status\"}"); }
            while (status.Contains("frozen", StringComparison.Ordinal) && DateTime.UtcNow < deadline);
            Assert.Equal("{\"return\": \"thawed\"}", status);
            Assert.NotEqual(0, Sh($"fsfreeze -u {m2} 2>/dev/null")); // EINVAL: the kernel says it is not frozen
        }
        finally
        {
            foreach (var m in new[] { m1, m2 })
            {
                Sh($"fsfreeze -u {m} 2>/dev/null; umount {m} 2>/dev/null");
            }
            Directory.Delete(dir, recursive: true);
        }
    }
}
