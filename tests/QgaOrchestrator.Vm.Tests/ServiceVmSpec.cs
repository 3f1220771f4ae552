using System.Globalization;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using QgaOrchestrator.Core.Snapshots;
using QgaOrchestrator.Host.Tests;
using QgaOrchestrator.Protocol.Qga;
using QgaOrchestrator.Vm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace QgaOrchestrator.Vm.Tests;

/// <summary>
/// The flows of the other real-VM specs THROUGH THE SERVICE: the qgaorchd process (<see cref="ServiceFixture"/>)
/// over two guests of its own, driven by HTTP and the qgaorch CLI. Ordered, because the guests are shared
/// and some steps end them: snapshots (API, CLI), metrics, fstrim, the kill mid-freeze and restart, then
/// suspend/resume of the S3-safe svc-b (once per boot, so last on it) and the shutdown of svc-a.
/// </summary>
[TestCaseOrderer(TestOrderer.TypeName, TestOrderer.AssemblyName)]
public sealed class ServiceVmSpec(VmFleetFixture fixture, ServiceFixture service, ITestOutputHelper output)
    : VmSpec(fixture, output), IClassFixture<ServiceFixture>
{
    private static readonly TimeSpan SagaTimeout = TimeSpan.FromSeconds(120);

    /// <summary>The agents' own self-thaw deadline (qga-agent --freeze-timeout default): a thaw later than this proves nothing.</summary>
    private static readonly TimeSpan AgentSelfThaw = TimeSpan.FromSeconds(60);

    private static readonly string[] Group = [VmFleetFixture.ServiceA, VmFleetFixture.ServiceB];

    private static readonly string GroupJson = JsonSerializer.Serialize(Group);

    private QgaorchdProcess Host => service.Host ?? throw new InvalidOperationException("qgaorchd is not started");

    [VmFact, TestOrder(1)]
    public async Task Qgaorchd_must_snapshot_a_group_of_two_real_guests_through_QMP_and_leave_them_thawed_and_writable()
    {
        await service.StartAsync(Fixture);
        var id = "svc-snap-api-" + Short();

        await StartSagaAsync("/sagas/freeze-snapshot-thaw", $$"""{"vms": {{GroupJson}}, "mode": "qmp", "deadline": "60s", "name": "api", "id": "{{id}}"}""");

        AssertCompletedSnapshot(await SagaEndAsync(id));
        AssertOverlays(id, "api");
        await AssertGroupThawedAndWritableAsync();
    }

    [VmFact, TestOrder(2)]
    public async Task Qgaorch_snapshot_must_follow_a_qmp_saga_of_the_group_to_completion_and_print_it_as_json()
    {
        await service.StartAsync(Fixture);

        var (code, stdout, stderr) = await Host.CliAsync(SagaTimeout,
            "--json", "snapshot", "--vms", string.Join(',', Group), "--mode", "qmp", "--deadline", "60s", "--name", "cli", "--wait");

        Assert.True(code == 0, $"qgaorch exit {code}: {stderr}\n{stdout}");
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        var end = Assert.Single(lines, l => l.GetProperty("event").GetString() == "end").GetProperty("data");
        AssertCompletedSnapshot(end);
        AssertOverlays(end.GetProperty("id").GetString()!, "cli");
    }

    [VmFact, TestOrder(3)]
    public async Task Metrics_must_show_the_freeze_window_histogram_and_the_sagas_by_outcome_after_a_snapshot()
    {
        await service.StartAsync(Fixture);
        if (Sample(await Host.MetricsAsync(), "qga_freeze_window_seconds_count", "scope=\"vm\"") == 0)
        {
            // Run alone (or after a restart, which resets the counters): a snapshot of its own first.
            var id = "svc-snap-metrics-" + Short();
            await StartSagaAsync("/sagas/freeze-snapshot-thaw", $$"""{"vms": {{GroupJson}}, "mode": "qmp", "name": "metrics", "id": "{{id}}"}""");
            AssertCompletedSnapshot(await SagaEndAsync(id));
            AssertOverlays(id, "metrics");
        }
        var text = "";
        // The exporter caches a scrape briefly: the sagas' samples show in a later one.
        await Eventually.UntilAsync(async () =>
        {
            text = await Host.MetricsAsync();
            return Group.All(vm => Sample(text, "qga_freeze_window_seconds_count", "scope=\"vm\"", $"vm=\"{vm}\"") > 0)
                && Sample(text, "qga_freeze_window_seconds_count", "scope=\"group\"") > 0
                && Sample(text, "qga_sagas_total", "kind=\"freeze-snapshot-thaw\"", "outcome=\"Completed\"") > 0;
        }, TimeSpan.FromSeconds(30), () => "no freeze window or completed saga samples in /metrics:\n" + text);

        Assert.Contains("# TYPE qga_freeze_window_seconds histogram", text, StringComparison.Ordinal);
        Assert.True(Sample(text, "qga_freeze_window_seconds_bucket", "scope=\"group\"", "le=\"+Inf\"") > 0);
        foreach (var scope in new[] { "vm", "group" })
        {
            var count = Sample(text, "qga_freeze_window_seconds_count", $"scope=\"{scope}\"");
            var sum = Sample(text, "qga_freeze_window_seconds_sum", $"scope=\"{scope}\"");
            Output?.WriteLine($"qga_freeze_window_seconds scope={scope}: count {count}, mean {1000 * sum / count:0.0} ms");
        }
        Output?.WriteLine($"qga_sagas_total freeze-snapshot-thaw Completed: {Sample(text, "qga_sagas_total", "kind=\"freeze-snapshot-thaw\"", "outcome=\"Completed\"")}");
    }

    [VmFact, TestOrder(4)]
    public async Task Fstrim_saga_must_report_the_bytes_trimmed_on_each_guests_data_filesystem()
    {
        await service.StartAsync(Fixture);
        var id = "svc-trim-" + Short();

        await StartSagaAsync("/sagas/fstrim", $$"""{"vms": {{GroupJson}}, "minimum": 0, "id": "{{id}}"}""");

        var saga = await SagaEndAsync(id);
        Assert.True(saga.GetProperty("outcome").GetString() == "completed", saga.ToString());
        foreach (var vm in saga.GetProperty("vms").EnumerateArray())
        {
            Assert.Equal("trimmed", vm.GetProperty("step").GetString());
            // The 64 MiB ext4 on virtio-blk (discard advertised), nearly empty and never trimmed in this boot.
            var data = Assert.Single(vm.GetProperty("trimmed").EnumerateArray(), p => p.GetProperty("path").GetString() == "/data");
            Assert.False(data.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String, data.ToString());
            var bytes = data.GetProperty("trimmedBytes").GetInt64();
            Assert.True(bytes > 0, $"{vm.GetProperty("vmId")}: trimmed {bytes} bytes of /data");
            Output?.WriteLine($"{vm.GetProperty("vmId")}: /data trimmed {bytes / (1024.0 * 1024):0.0} MiB");
        }
    }

    [VmFact, TestOrder(5)]
    public async Task Qgaorchd_killed_mid_freeze_must_thaw_the_group_after_its_restart_and_end_the_saga_aborted()
    {
        var host = await service.StartAsync(Fixture);
        var vms = await Task.WhenAll(Group.Select(BootedAsync));
        var id = "svc-kill-" + Short();
        await StartSagaAsync("/sagas/freeze-snapshot-thaw", $$"""{"vms": {{GroupJson}}, "mode": "external", "deadline": "4m", "id": "{{id}}"}""");
        JsonElement frozen = default;
        await Eventually.UntilAsync(async () =>
        {
            frozen = (await host.GetAsync($"/sagas/{id}")).Body;
            return frozen.GetProperty("awaitingSnapshot").GetBoolean();
        }, TimeSpan.FromSeconds(60), () => $"the group never got all frozen: {frozen}");
        Assert.All(frozen.GetProperty("vms").EnumerateArray(), v => Assert.Equal("frozen", v.GetProperty("step").GetString()));
        var frozenAt = frozen.GetProperty("vms").EnumerateArray().Min(v => v.GetProperty("frozenAt").GetDateTimeOffset());

        await host.KillAsync();
        Output?.WriteLine($"qgaorchd pid {host.Pid} SIGKILLed {(DateTimeOffset.UtcNow - frozenAt).TotalSeconds:0.0} s after the group froze");
        try
        {
            // Nobody thaws now: each guest still reports frozen, asked directly over its QGA socket.
            var fleet = await FleetOfAsync(vms);
            foreach (var vm in vms) Assert.Equal(GuestFsfreezeStatus.Frozen, await RunAsync(fleet, vm.Id, QgaCommands.GuestFsfreezeStatus));
            await fleet.GracefulStop(ReplyTimeout); // QEMU's chardev serves one client: free it for qgaorchd
        }
        finally
        {
            // Also on failure: the recovered saga thaws the guests, and the later tests need the service.
            await service.StartAsync(Fixture);
        }
        Output?.WriteLine($"qgaorchd restarted as pid {Host.Pid} on the same state dir");

        var saga = await SagaEndAsync(id);
        Assert.True(saga.GetProperty("outcome").GetString() == "aborted", saga.ToString());
        Assert.Contains("orchestrator restarted", saga.GetProperty("reason").GetString(), StringComparison.Ordinal);
        foreach (var vm in saga.GetProperty("vms").EnumerateArray())
        {
            Assert.Equal("thawed", vm.GetProperty("step").GetString());
            var window = vm.GetProperty("thawedAt").GetDateTimeOffset() - frozenAt;
            Output?.WriteLine($"{vm.GetProperty("vmId")}: frozen {window.TotalSeconds:0.0} s across the kill and restart");
            Assert.True(window < AgentSelfThaw, $"{vm.GetProperty("vmId")}: thawed after {window.TotalSeconds:0} s: the agent's self-thaw, not the recovered saga");
        }
        await AssertGroupThawedAndWritableAsync();
    }

    [VmFact, TestOrder(6)]
    public async Task Power_sagas_must_suspend_a_real_guest_to_RAM_and_resume_it_with_the_agent_answering_again()
    {
        await service.StartAsync(Fixture);
        const string vm = VmFleetFixture.ServiceB;
        var suspendId = "svc-suspend-" + Short();

        await StartSagaAsync("/sagas/suspend", $$"""{"vms": ["{{vm}}"], "mode": "ram", "timeout": "60s", "id": "{{suspendId}}"}""");
        var suspended = Assert.Single(AssertCompletedPower(await SagaEndAsync(suspendId)));
        Assert.Contains(Timeline(suspended), t => t == "status: running"); // query-status before guest-suspend-ram
        await UntilRunStateAsync(vm, "suspended");

        var resumeId = "svc-resume-" + Short();
        await StartSagaAsync("/sagas/resume", $$"""{"vms": ["{{vm}}"], "timeout": "60s", "id": "{{resumeId}}"}""");
        var resumed = Assert.Single(AssertCompletedPower(await SagaEndAsync(resumeId)));
        Assert.Contains(Timeline(resumed), t => t == "status: suspended"); // query-status before system_wakeup
        Assert.Contains("the agent answered after re-sync", resumed.GetProperty("evidence").GetString(), StringComparison.Ordinal);
        await UntilRunStateAsync(vm, "running");
        await CommandAsync(vm, "guest-ping");
    }

    [VmFact, TestOrder(7)]
    public async Task Shutdown_saga_must_power_a_real_guest_off_confirmed_by_SHUTDOWN_and_QEMU_exiting()
    {
        await service.StartAsync(Fixture);
        var vm = await BootedAsync(VmFleetFixture.ServiceA);
        var id = "svc-shutdown-" + Short();

        await StartSagaAsync("/sagas/shutdown", $$"""{"vms": ["{{vm.Id}}"], "mode": "powerdown", "id": "{{id}}"}""");

        var track = Assert.Single(AssertCompletedPower(await SagaEndAsync(id)));
        Assert.Equal("SHUTDOWN event", track.GetProperty("evidence").GetString()); // guest-shutdown worked: no fallback
        await vm.Exited.WaitAsync(ReplyTimeout); // -no-reboot: QEMU exits after the guest's poweroff
    }

    // ---- helpers ------------------------------------------------------------------------------

    private static string Short() => Guid.NewGuid().ToString("N")[..6];

    private async Task StartSagaAsync(string path, string body)
    {
        var (status, view, _) = await Host.PostAsync(path, body);
        Assert.True(status == 202, $"POST {path} {body}: {status} {view}");
    }

    /// <summary>GET /sagas/{id} until it has an outcome (the API pushes only by SSE; polling is the simple wait here).</summary>
    private async Task<JsonElement> SagaEndAsync(string id)
    {
        JsonElement saga = default;
        await Eventually.UntilAsync(async () =>
        {
            (var status, saga, _) = await Host.GetAsync($"/sagas/{id}");
            return status == 200 && saga.TryGetProperty("outcome", out var outcome) && outcome.ValueKind == JsonValueKind.String;
        }, SagaTimeout, () => $"saga {id} did not end: {saga}");
        Output?.WriteLine($"saga {id}: {saga}");
        return saga;
    }

    private void AssertCompletedSnapshot(JsonElement saga)
    {
        Assert.True(saga.GetProperty("outcome").GetString() == "completed", saga.ToString());
        Assert.Equal("qmp", saga.GetProperty("mode").GetString());
        var vms = saga.GetProperty("vms").EnumerateArray().ToList();
        Assert.Equal(Group, vms.Select(v => v.GetProperty("vmId").GetString()).Order(StringComparer.Ordinal));
        foreach (var vm in vms)
        {
            Assert.Equal("thawed", vm.GetProperty("step").GetString());
            Assert.True(vm.GetProperty("snapshotTaken").GetBoolean());
            Assert.True(vm.GetProperty("freezeWindowMs").GetDouble() > 0);
        }
        Output?.WriteLine($"saga {saga.GetProperty("id")}: group freeze window {saga.GetProperty("groupWindowMs").GetDouble():0.0} ms; " +
            string.Join(", ", vms.Select(v => $"{v.GetProperty("vmId")} {v.GetProperty("freezeWindowMs").GetDouble():0.0} ms")));
    }

    /// <summary>Each guest's overlay exists and is backed by the image its disk wrote to before this snapshot.</summary>
    private void AssertOverlays(string sagaId, string name)
    {
        var provider = new QmpSnapshotProvider(service.OverlayDir);
        foreach (var vm in Group)
        {
            var overlay = provider.OverlayPath(sagaId, vm, "disk0", name);
            Assert.True(File.Exists(overlay), $"{vm}: no overlay {overlay}");
            var info = Shell.Run($"qemu-img info -U '{overlay}'"); // -U: QEMU holds the write lock
            Assert.True(info.ExitCode == 0, info.Output);
            Assert.Contains($"backing file: {service.ActiveImage[vm]}", info.Output, StringComparison.Ordinal);
            service.ActiveImage[vm] = overlay;
        }
    }

    private static List<JsonElement> AssertCompletedPower(JsonElement saga)
    {
        Assert.True(saga.GetProperty("outcome").GetString() == "completed", saga.ToString());
        var vms = saga.GetProperty("vms").EnumerateArray().ToList();
        Assert.All(vms, v => Assert.Equal("succeeded", v.GetProperty("step").GetString()));
        return vms;
    }

    private static IEnumerable<string> Timeline(JsonElement vm) =>
        vm.GetProperty("timeline").EnumerateArray().Select(t => t.GetProperty("what").GetString()!);

    private async Task UntilRunStateAsync(string vm, string state)
    {
        JsonElement view = default;
        await Eventually.UntilAsync(async () =>
        {
            view = (await Host.GetAsync("/vms/" + vm)).Body;
            return view.GetProperty("runState").GetString() == state;
        }, ReplyTimeout, () => $"{vm}: run state is not {state}: {view}");
    }

    /// <summary>POST /vms/{vm}/commands/{command}: the guest's return value (200 asserted).</summary>
    private async Task<JsonElement> CommandAsync(string vm, string command, object? arguments = null)
    {
        var json = arguments is null ? null : JsonSerializer.Serialize(arguments);
        var (status, body, _) = await Host.PostAsync($"/vms/{vm}/commands/{command}?timeout=30s", json);
        Assert.True(status == 200, $"{vm} {command} {json}: {status} {body}");
        return body.GetProperty("return");
    }

    /// <summary>Each guest reports thawed, and a write to its /data goes through.</summary>
    private async Task AssertGroupThawedAndWritableAsync()
    {
        foreach (var vm in Group)
        {
            Assert.Equal("thawed", (await CommandAsync(vm, "guest-fsfreeze-status")).GetString());
            await AssertWritableAsync(vm);
        }
    }

    /// <summary>Writes a file in the guest's /data through the file commands of the API and reads it back.</summary>
    private async Task AssertWritableAsync(string vm)
    {
        var text = $"written by {vm} through qgaorchd {Guid.NewGuid():N}";
        var path = $"/data/{vm}-service-{Short()}.txt";
        var w = (await CommandAsync(vm, "guest-file-open", new { path, mode = "w" })).GetInt64();
        await CommandAsync(vm, "guest-file-write", new Dictionary<string, object> { ["handle"] = w, ["buf-b64"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(text)) });
        await CommandAsync(vm, "guest-file-flush", new { handle = w });
        await CommandAsync(vm, "guest-file-close", new { handle = w });
        var r = (await CommandAsync(vm, "guest-file-open", new { path, mode = "r" })).GetInt64();
        var read = await CommandAsync(vm, "guest-file-read", new { handle = r, count = 4096 });
        await CommandAsync(vm, "guest-file-close", new { handle = r });
        Assert.Equal(text, Encoding.UTF8.GetString(Convert.FromBase64String(read.GetProperty("buf-b64").GetString()!)));
    }

    /// <summary>The sum of a Prometheus metric's samples whose labels contain every one of <paramref name="labels"/>.</summary>
    private static double Sample(string text, string metric, params string[] labels) =>
        text.Split('\n')
            .Where(l => l.StartsWith(metric + "{", StringComparison.Ordinal) || l.StartsWith(metric + " ", StringComparison.Ordinal))
            .Where(l => labels.All(x => l.Contains(x, StringComparison.Ordinal)))
            // name{labels} value [timestamp]
            .Sum(l => double.Parse(l[(l.Contains('}') ? l.LastIndexOf('}') + 1 : metric.Length)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture));

    protected override void Dispose(bool disposing)
    {
        if (disposing && service.Host is { } host)
            foreach (var line in host.LogLines.TakeLast(60)) Output?.WriteLine("qgaorchd: " + line);
        base.Dispose(disposing);
    }
}
