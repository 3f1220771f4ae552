using System.Diagnostics;

namespace QgaAgent.Tests;

public sealed class SignalSpec
{
    private static int Terminate(int pid)
    {
        using var kill = Process.Start("kill", ["-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        return kill.ExitCode;
    }

    // The signal path closes the channel under the main loop's blocked accept; that must end in a
    // clean exit 0, never an unhandled exception (exit 134) or a default-action death (143).
    [AgentBinaryFact]
    public void Agent_must_exit_zero_on_SIGTERM_after_serving_a_client()
    {
        for (int i = 0; i < 5; i++)
        {
            var dir = Directory.CreateTempSubdirectory("qga-sig-").FullName;
            try
            {
                using var agent = new AgentProcess(AgentProcess.AgentBin, dir);
                using (var client = agent.Connect())
                    Assert.Contains("\"return\"", client.Call("{\"execute\":\"guest-ping\"}"));
                Assert.Equal(0, Terminate(agent.Pid));
                Assert.True(agent.WaitForExit(10_000), "agent did not exit after SIGTERM");
                Assert.Equal(0, agent.ExitCode);
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
