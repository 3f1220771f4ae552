using QgaOrchestrator.Cli;
using QgaOrchestrator.Core.Tests.Fakes;

namespace QgaOrchestrator.Core.Tests.Cli;

/// <summary><c>qgaorch guest</c> end to end: a real VM actor, channel and sync against a real socket.</summary>
public sealed class GuestCommandSpec
{
    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await GuestCommand.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString().Trim(), stderr.ToString().Trim());
    }

    [Fact]
    public async Task GuestCommand_must_print_the_return_json_and_exit_0()
    {
        await using var agent = new FakeGuestAgent();
        agent.OnConnect = _ => "{\"return\": 1}\n"u8.ToArray(); // a stale reply the sync must skip
        var (code, output, _) = await RunAsync("--socket", agent.SocketPath, "guest-sync", """{"id": 4242}""");
        Assert.Equal(0, code);
        Assert.Equal("4242", output);
    }

    [Fact]
    public async Task GuestCommand_must_exit_2_with_class_and_desc_on_a_guest_error()
    {
        await using var agent = new FakeGuestAgent();
        agent.Handler = r => r.Execute == "guest-get-time" ? new AgentAction.Respond(FakeGuestAgent.Error(r, "GenericError", "clock is gone")) : null;
        var (code, _, err) = await RunAsync("--socket", agent.SocketPath, "guest-get-time");
        Assert.Equal(2, code);
        Assert.Contains("GenericError: clock is gone", err);
    }

    [Fact]
    public async Task GuestCommand_must_exit_3_when_unreachable_or_timed_out()
    {
        var (code, _, err) = await RunAsync("--socket", "/nonexistent/qga.sock", "guest-ping");
        Assert.Equal(3, code);
        Assert.Contains("unreachable", err);

        await using var agent = new FakeGuestAgent();
        agent.Handler = r => r.Execute == "guest-ping" ? new AgentAction.Silent() : null;
        (code, _, err) = await RunAsync("--socket", agent.SocketPath, "--timeout", "0.3", "guest-ping");
        Assert.Equal(3, code);
        Assert.Contains("timeout", err);
    }

    [Fact]
    public async Task GuestCommand_must_exit_64_on_usage_errors()
    {
        Assert.Equal(64, (await RunAsync("guest-ping")).Code);
        Assert.Equal(64, (await RunAsync("--socket", "/x", "guest-nope")).Code);
        Assert.Equal(64, (await RunAsync("--socket", "/x", "guest-ping", "[1]")).Code);
    }

    [QemuGaFact]
    public async Task GuestCommand_must_run_against_real_qemu_ga()
    {
        await using var qga = await QemuGaProcess.StartAsync();
        var (code, output, _) = await RunAsync("--socket", qga.SocketPath, "guest-info");
        Assert.Equal(0, code);
        Assert.Contains("\"version\"", output);
        (code, _, var err) = await RunAsync("--socket", qga.SocketPath, "guest-fstrim");
        Assert.Equal(2, code);
        Assert.Contains("disabled", err);
    }
}

public sealed class GuestCommandQmpSpec
{
    [Fact]
    public async Task GuestCommand_must_complete_guest_shutdown_on_the_qmp_SHUTDOWN_event()
    {
        await using var agent = new FakeGuestAgent();
        await using var qmp = new FakeQmpServer();
        agent.Handler = r =>
        {
            if (r.Execute != "guest-shutdown") return null;
            _ = qmp.Negotiated.ContinueWith(_ => qmp.EmitAsync("SHUTDOWN", """{"guest": true, "reason": "guest-shutdown"}"""), TaskScheduler.Default);
            return new AgentAction.Silent(); // qemu-ga never replies to a successful shutdown
        };
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await QgaOrchestrator.Cli.GuestCommand.RunAsync(
            ["--socket", agent.SocketPath, "--qmp", qmp.SocketPath, "--timeout", "20", "guest-shutdown"], stdout, stderr);
        Assert.True(code == 0, stderr.ToString());
        Assert.Equal("{}", stdout.ToString().Trim());
    }
}
