using System.Text.Json;

namespace QgaOrchestrator.Host.Tests;

/// <summary>The qgaorch verbs (their real handlers, in-process) against the running qgaorchd.</summary>
[Collection(HostCollection.Name)]
public sealed class CliSpec(HostFixture fixture)
{
    private RunningHost Host => fixture.Host;

    /// <summary>The newest saga the host knows (the freeze verb names its saga itself).</summary>
    private async Task<JsonElement> LatestSagaAsync()
    {
        var list = (await Host.GetAsync("/sagas")).Body.EnumerateArray().ToList();
        return (await Host.GetAsync("/sagas/" + list[^1].GetProperty("id").GetString())).Body;
    }

    [Fact]
    public async Task Vms_verb_must_list_the_fleet_as_text_and_json()
    {
        var (code, stdout, _) = await Host.CliAsync("vms");
        Assert.Equal(0, code);
        Assert.Contains("g1", stdout, StringComparison.Ordinal);
        Assert.Contains("tier=db", stdout, StringComparison.Ordinal);

        (code, stdout, _) = await Host.CliAsync("vms", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(2, doc.RootElement.GetArrayLength());
    }

    [Fact]
    public async Task Cli_must_exit_64_with_the_field_when_the_server_refuses_input()
    {
        var (code, _, stderr) = await Host.CliAsync("cmd", "g1", "guest-nope");
        Assert.Equal(64, code);
        Assert.Contains("guest-nope", stderr, StringComparison.Ordinal);

        (code, _, stderr) = await Host.CliAsync("snapshot", "--vms", "g1", "--mode", "external", "--deadline", "87600h");
        Assert.Equal(64, code);
        Assert.Contains("deadline", stderr, StringComparison.Ordinal);

        (code, _, stderr) = await Host.CliAsync("vm", "nope");
        Assert.Equal(64, code);

        (code, _, _) = await Host.CliAsync("snapshot", "--mode", "external"); // no group
        Assert.Equal(64, code);
        (code, _, _) = await Host.CliAsync("frobnicate");
        Assert.Equal(64, code);
    }

    [Fact]
    public async Task Cli_must_exit_7_when_the_token_is_wrong_and_6_when_the_server_is_down()
    {
        var bad = Path.Combine(Host.Dir, "wrong-token");
        await File.WriteAllTextAsync(bad, "not-the-token-at-all");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(7, await Cli.CliApp.RunAsync(["--server", Host.Url.ToString(), "--token-file", bad, "vms"], stdout, stderr, false, CancellationToken.None));
        Assert.Equal(7, await Cli.CliApp.RunAsync(["--server", Host.Url.ToString(), "--token-file", bad + "-missing", "vms"], stdout, stderr, false, CancellationToken.None));
        Assert.Equal(6, await Cli.CliApp.RunAsync(["--server", "http://127.0.0.1:1", "--token-file", Host.TokenFile, "vms"], stdout, stderr, false, CancellationToken.None));
    }

    [RealAgentFact]
    public async Task Cmd_verb_must_print_the_return_value()
    {
        await Host.WaitForAgentAsync("g1");
        var (code, stdout, _) = await Host.CliAsync("cmd", "g1", "guest-fsfreeze-status");
        Assert.Equal(0, code);
        Assert.Equal("\"thawed\"", stdout.Trim());
        (code, _, _) = await Host.CliAsync("cmd", "g1", "guest-file-read", "{\"handle\": 999999}");
        Assert.Equal(2, code); // the guest answered an error
    }

    [RealAgentFact]
    public async Task Snapshot_verb_must_run_a_qmp_saga_to_completion_with_progress_lines()
    {
        await Host.WaitForAgentAsync("g1");
        var (code, stdout, stderr) = await Host.CliAsync("snapshot", "--vms", "g1", "--mode", "qmp", "--deadline", "30s", "--wait");
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("g1 frozen", stdout, StringComparison.Ordinal);
        Assert.Contains("g1 thawed", stdout, StringComparison.Ordinal);
        Assert.Contains("completed", stdout, StringComparison.Ordinal);
        var id = stderr.Split(' ')[1];
        Assert.Equal("completed", (await Host.GetAsync("/sagas/" + id)).Body.GetProperty("outcome").GetString());
    }

    [RealAgentFact]
    public async Task Freeze_verb_must_run_the_command_while_frozen_and_exit_0()
    {
        await Host.WaitForAgentAsync("g1");
        await Host.WaitForAgentAsync("g2");
        var qgaorch = Path.Combine(AppContext.BaseDirectory, "qgaorch.dll");
        // COMMAND asks the agent through the service: it must see its filesystem frozen.
        var check = $"dotnet {qgaorch} --server {Host.Url} --token-file {Host.TokenFile} cmd g1 guest-fsfreeze-status | grep -q frozen";
        var (code, _, stderr) = await Host.CliAsync("freeze", "--vms", "g1,g2", "--deadline", "60s", "--", "sh", "-c", check);
        Assert.True(code == 0, stderr);
        var saga = await LatestSagaAsync();
        Assert.Equal("completed", saga.GetProperty("outcome").GetString());
        Assert.Equal("external", saga.GetProperty("mode").GetString());
    }

    [RealAgentFact]
    public async Task Freeze_verb_must_exit_with_the_command_exit_code_and_end_the_saga()
    {
        await Host.WaitForAgentAsync("g1");
        var (code, _, stderr) = await Host.CliAsync("freeze", "--vms", "g1", "--deadline", "30s", "--", "sh", "-c", "exit 3");
        Assert.True(code == 3, stderr);
        var saga = await LatestSagaAsync();
        Assert.NotNull(saga.GetProperty("outcome").GetString()); // ended
        Assert.Equal("thawed", saga.GetProperty("vms")[0].GetProperty("step").GetString());
        Assert.Equal("thawed", (await Host.PostAsync("/vms/g1/commands/guest-fsfreeze-status")).Body.GetProperty("return").GetString());
    }

    [RealAgentFact]
    public async Task Freeze_verb_must_abort_the_saga_when_interrupted()
    {
        await Host.WaitForAgentAsync("g2");
        var marker = Path.Combine(Host.Dir, "command-started-" + Guid.NewGuid().ToString("N")[..6]);
        using var interrupt = new CancellationTokenSource();
        var commandStarted = new TaskCompletionSource();
        using var watcher = new FileSystemWatcher(Host.Dir, Path.GetFileName(marker)) { EnableRaisingEvents = true };
        watcher.Created += (_, _) => commandStarted.TrySetResult();
        var run = Host.CliAsync(interrupt.Token, "freeze", "--vms", "g2", "--deadline", "60s", "--", "sh", "-c", $"touch {marker}; exec sleep 60");
        await Task.WhenAny(commandStarted.Task, run).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(File.Exists(marker), "COMMAND never ran");
        await interrupt.CancelAsync(); // what SIGINT/SIGTERM do in Program

        var (code, _, stderr) = await run;
        Assert.True(code == 130, stderr);
        var saga = await LatestSagaAsync();
        Assert.Equal("aborted", saga.GetProperty("outcome").GetString());
        Assert.Equal("thawed", (await Host.PostAsync("/vms/g2/commands/guest-fsfreeze-status")).Body.GetProperty("return").GetString());
    }

    [RealAgentFact]
    public async Task Freeze_verb_must_exit_5_without_running_the_command_when_the_group_cannot_freeze()
    {
        // g3 is not configured with an agent: a fleet of one VM whose socket does not exist.
        await using var lonely = await RunningHost.StartAsync([new Core.Vms.VmConfig { Id = "g3", QgaSocket = Path.Combine(Path.GetTempPath(), "no-agent-" + Guid.NewGuid().ToString("N")[..6] + ".sock") }]);
        var marker = Path.Combine(lonely.Dir, "ran");
        var (code, _, stderr) = await lonely.CliAsync("freeze", "--vms", "g3", "--deadline", "10s", "--", "touch", marker);
        Assert.True(code == 5, stderr);
        Assert.False(File.Exists(marker));
        var id = (await lonely.GetAsync("/sagas")).Body[0].GetProperty("id").GetString();
        Assert.Equal("failed", (await lonely.GetAsync("/sagas/" + id)).Body.GetProperty("outcome").GetString());
    }
}
