using System.Net.Http.Headers;
using System.Text.Json;

namespace QgaOrchestrator.Host.Tests;

/// <summary>Suspend, resume and shutdown sagas through the API and qgaorch, against fake VMs only.</summary>
public sealed class PowerSagaApiSpec(FakePowerFleet fleet) : IClassFixture<FakePowerFleet>
{
    private RunningHost Host => fleet.Host;

    /// <summary>Follows the saga's event stream to its "end" event and returns that saga (event-driven, bounded).</summary>
    private Task<JsonElement> EndOfAsync(string id) => UntilAsync(id, (name, _) => name == "end");

    /// <summary>The first saga (state, progress or end) of the event stream that <paramref name="match"/> accepts.</summary>
    private async Task<JsonElement> UntilAsync(string id, Func<string, JsonElement, bool> match)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/sagas/{id}/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await Host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(200, (int)response.StatusCode);
        using var stream = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
        var name = "";
        while (await stream.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal)) name = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                using var doc = JsonDocument.Parse(line[6..]);
                var saga = doc.RootElement.TryGetProperty("saga", out var s) ? s.Clone() : doc.RootElement.Clone();
                if (match(name, saga)) return saga;
            }
        }
        throw new InvalidOperationException($"saga {id}: the stream closed before the awaited event");
    }

    private async Task<JsonElement> StartAndEndAsync(string path, string body, string id, string kind)
    {
        var (status, started, _) = await Host.PostAsync(path, body);
        Assert.True(status == 202, $"{path}: {status} {started}");
        Assert.Equal(id, started.GetProperty("id").GetString());
        Assert.Equal(kind, started.GetProperty("kind").GetString());
        var end = await EndOfAsync(id);
        var (_, got, _) = await Host.GetAsync("/sagas/" + id);
        Assert.Equal(end.GetProperty("outcome").GetString(), got.GetProperty("outcome").GetString());
        var (_, list, _) = await Host.GetAsync("/sagas");
        Assert.Contains(list.EnumerateArray(), s => s.GetProperty("id").GetString() == id && s.GetProperty("kind").GetString() == kind
            && s.GetProperty("outcome").GetString() == end.GetProperty("outcome").GetString());
        return got;
    }

    private static JsonElement OnlyVm(JsonElement saga) => Assert.Single(saga.GetProperty("vms").EnumerateArray());

    [Fact]
    public async Task Suspend_must_suspend_the_group_and_show_each_vms_evidence()
    {
        var saga = await StartAndEndAsync("/sagas/suspend", """{"vms": ["s1"], "mode": "ram", "timeout": "20s", "id": "api-suspend"}""", "api-suspend", "suspend");

        Assert.Equal("completed", saga.GetProperty("outcome").GetString());
        Assert.Equal("ram", saga.GetProperty("mode").GetString());
        var vm = OnlyVm(saga);
        Assert.Equal("succeeded", vm.GetProperty("step").GetString());
        Assert.Equal("guest-suspend-ram", vm.GetProperty("command").GetString());
        Assert.Equal("SUSPEND event", vm.GetProperty("evidence").GetString());
        Assert.NotEqual(0, vm.GetProperty("timeline").GetArrayLength());
        Assert.Equal("suspended", fleet.Vms["s1"].Status);
        Assert.Equal(1, fleet.Vms["s1"].Seen.Count(c => c == "guest-suspend-ram"));
    }

    [Fact]
    public async Task Resume_must_wake_the_group_with_system_wakeup_and_resync_the_agent()
    {
        var saga = await StartAndEndAsync("/sagas/resume", """{"selector": {"power": "r1"}, "timeout": 20, "id": "api-resume"}""", "api-resume", "resume");

        Assert.Equal("completed", saga.GetProperty("outcome").GetString());
        var vm = OnlyVm(saga);
        Assert.Equal("r1", vm.GetProperty("vmId").GetString());
        Assert.Equal("succeeded", vm.GetProperty("step").GetString());
        Assert.Contains("WAKEUP event", vm.GetProperty("evidence").GetString());
        Assert.Equal("running", fleet.Vms["r1"].Status);
        Assert.Contains("system_wakeup", fleet.Vms["r1"].Seen);
    }

    [Fact]
    public async Task Shutdown_must_power_the_group_down_and_confirm_it_by_QEMU()
    {
        var saga = await StartAndEndAsync("/sagas/shutdown", """{"vms": ["d1"], "mode": "powerdown", "grace": "20s", "fallback": true, "id": "api-shutdown"}""",
            "api-shutdown", "shutdown");

        Assert.Equal("completed", saga.GetProperty("outcome").GetString());
        Assert.Equal("powerdown", saga.GetProperty("mode").GetString());
        var vm = OnlyVm(saga);
        Assert.Equal("succeeded", vm.GetProperty("step").GetString());
        Assert.Equal("SHUTDOWN event", vm.GetProperty("evidence").GetString());
        Assert.Equal(["guest-shutdown powerdown"], fleet.Vms["d1"].Seen.Where(c => c.StartsWith("guest-shutdown", StringComparison.Ordinal)));
        Assert.DoesNotContain("system_powerdown", fleet.Vms["d1"].Seen); // the guest went down: no fallback needed
    }

    [Fact]
    public async Task Shutdown_must_end_failed_when_the_guest_refuses_and_abort_is_refused_once_ended()
    {
        var saga = await StartAndEndAsync("/sagas/shutdown", """{"vms": ["x1"], "id": "api-refused"}""", "api-refused", "shutdown");

        Assert.Equal("failed", saga.GetProperty("outcome").GetString());
        Assert.Contains("the guest refuses", OnlyVm(saga).GetProperty("reason").GetString());
        var (status, _, _) = await Host.PostAsync("/sagas/api-refused/abort");
        Assert.Equal(409, status);
    }

    [Fact]
    public async Task Abort_must_end_a_power_saga_that_waits_for_confirmation_as_aborted()
    {
        var (status, started, _) = await Host.PostAsync("/sagas/shutdown", """{"vms": ["i1"], "grace": "5m", "id": "api-abort"}""");
        Assert.True(status == 202, started.ToString());
        await UntilAsync("api-abort", (_, saga) => OnlyVm(saga).GetProperty("step").GetString() == "sent");

        var (aborted, _, _) = await Host.PostAsync("/sagas/api-abort/abort", """{"reason": "test"}""");

        Assert.Equal(202, aborted);
        var end = await EndOfAsync("api-abort");
        Assert.Equal("aborted", end.GetProperty("outcome").GetString());
        Assert.Contains("state unknown", OnlyVm(end).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Cli_power_verbs_must_wait_for_the_saga_and_exit_0_when_it_completed()
    {
        var suspend = await Host.CliAsync("--json", "suspend", "--vms", "s2", "--mode", "ram", "--timeout", "20s", "--wait");
        Assert.True(suspend.Code == 0, suspend.Err + suspend.Out);
        Assert.Equal("suspended", fleet.Vms["s2"].Status);

        var resume = await Host.CliAsync("resume", "--vms", "r2", "--timeout", "20s", "--wait");
        Assert.True(resume.Code == 0, resume.Err + resume.Out);
        Assert.Contains("completed", resume.Out);
        Assert.Equal("running", fleet.Vms["r2"].Status);

        var shutdown = await Host.CliAsync("--json", "shutdown", "--vms", "d2", "--mode", "halt", "--grace", "20s", "--wait");
        Assert.True(shutdown.Code == 0, shutdown.Err + shutdown.Out);
        Assert.Contains("guest-shutdown halt", fleet.Vms["d2"].Seen);
        var last = JsonDocument.Parse(shutdown.Out.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal("end", last.GetProperty("event").GetString());
        Assert.Equal("shutdown", last.GetProperty("data").GetProperty("kind").GetString());
    }

    [Fact]
    public async Task Cli_power_verbs_must_exit_4_on_a_failed_saga_and_64_on_input_the_server_refuses()
    {
        var refused = await Host.CliAsync("shutdown", "--vms", "x1", "--wait");
        Assert.True(refused.Code == 4, refused.Err + refused.Out);

        var reboot = await Host.CliAsync("shutdown", "--vms", "x1", "--mode", "reboot", "--fallback");
        Assert.Equal(64, reboot.Code);
        Assert.Contains("fallback", reboot.Err);

        var mode = await Host.CliAsync("suspend", "--vms", "x1", "--mode", "deep");
        Assert.Equal(64, mode.Code);

        var timeout = await Host.CliAsync("resume", "--vms", "x1", "--timeout", "0s");
        Assert.Equal(64, timeout.Code);
        Assert.Contains("timeout", timeout.Err);
    }
}
