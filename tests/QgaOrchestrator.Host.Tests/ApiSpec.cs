using System.Diagnostics.Metrics;
using System.Net.Http.Headers;

namespace QgaOrchestrator.Host.Tests;

[Collection(HostCollection.Name)]
public sealed class ApiSpec(HostFixture fixture)
{
    private RunningHost Host => fixture.Host;

    [Fact]
    public async Task Api_must_answer_401_problem_without_the_token_and_200_with_it()
    {
        var (status, body, type) = await Host.SendAsync(HttpMethod.Get, "/vms", client: Host.Anonymous);
        Assert.Equal(401, status);
        Assert.Equal("application/problem+json", type);
        Assert.Equal("urn:qgaorch:problem:unauthorized", body.GetProperty("type").GetString());

        using var wrong = new HttpClient { BaseAddress = Host.Url };
        wrong.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Host.Token[..^2] + "xx");
        Assert.Equal(401, (await Host.SendAsync(HttpMethod.Get, "/sagas", client: wrong)).Status);
        Assert.Equal(401, (await Host.SendAsync(HttpMethod.Post, "/vms/g1/commands/guest-ping", client: Host.Anonymous)).Status);
        Assert.Equal(401, (await Host.SendAsync(HttpMethod.Get, "/metrics", client: Host.Anonymous)).Status);

        Assert.Equal(200, (await Host.GetAsync("/vms")).Status);
    }

    [Fact]
    public async Task Health_endpoints_must_answer_without_the_token()
    {
        var health = await Host.SendAsync(HttpMethod.Get, "/healthz", client: Host.Anonymous);
        Assert.Equal(200, health.Status);
        var ready = await Host.SendAsync(HttpMethod.Get, "/readyz", client: Host.Anonymous);
        Assert.Equal(200, ready.Status);
        Assert.Equal("ready", ready.Body.GetProperty("status").GetString());
        Assert.Equal("reachable", ready.Body.GetProperty("checks").GetProperty("journal").GetString());
    }

    [Fact]
    public void Token_file_must_be_created_owner_only_with_32_random_bytes()
    {
        if (OperatingSystem.IsWindows()) return; // no unix modes there
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Host.TokenFile));
        Assert.Equal(43, Host.Token.Length); // base64url of 32 bytes, no padding
        Assert.Matches("^[A-Za-z0-9_-]+$", Host.Token);
    }

    [Fact]
    public async Task Openapi_document_must_describe_the_endpoints()
    {
        var (status, body, _) = await Host.SendAsync(HttpMethod.Get, "/openapi/v1.json", client: Host.Anonymous);
        Assert.Equal(200, status);
        var paths = body.GetProperty("paths");
        foreach (var p in new[] { "/vms", "/vms/{id}", "/vms/{id}/commands/{command}", "/sagas/freeze-snapshot-thaw", "/sagas/fstrim", "/sagas/suspend", "/sagas/resume", "/sagas/shutdown", "/sagas/{id}/events", "/sagas/{id}/snapshot-done", "/sagas/{id}/abort" })
            Assert.True(paths.TryGetProperty(p, out _), $"missing {p}");
    }

    [Fact]
    public async Task Metrics_must_export_the_QgaOrchestrator_meter_in_prometheus_text()
    {
        using var meter = new Meter(QgaHost.MeterName);
        var counter = meter.CreateCounter<long>("qgaorch_test_probe");
        counter.Add(3);
        var text = "";
        // The exporter caches a scrape briefly, so the probe shows up in a later one.
        await Eventually.UntilAsync(async () =>
        {
            using var response = await Host.Client.GetAsync("/metrics");
            Assert.Equal(200, (int)response.StatusCode);
            Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
            text = await response.Content.ReadAsStringAsync();
            if (text.Contains("qgaorch_test_probe", StringComparison.Ordinal)) return true;
            counter.Add(1);
            return false;
        }, TimeSpan.FromSeconds(20), () => "qgaorch_test_probe never appeared in /metrics");
        Assert.Contains("qgaorch_test_probe", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Vms_must_list_the_fleet_in_id_order()
    {
        var (status, body, _) = await Host.GetAsync("/vms");
        Assert.Equal(200, status);
        Assert.Equal(["g1", "g2"], body.EnumerateArray().Select(v => v.GetProperty("id").GetString()!).ToArray());
        Assert.Equal("web", body[0].GetProperty("labels").GetProperty("tier").GetString());
    }

    [RealAgentFact]
    public async Task Vm_must_show_the_connected_agent_and_its_commands()
    {
        await Host.WaitForAgentAsync("g1");
        var (status, body, _) = await Host.GetAsync("/vms/g1");
        Assert.Equal(200, status);
        Assert.True(body.GetProperty("agentConnected").GetBoolean());
        Assert.Contains("guest-ping", body.GetProperty("enabledCommands").EnumerateArray().Select(c => c.GetString()));
    }

    [RealAgentFact]
    public async Task Command_must_run_in_the_real_agent_and_return_its_value()
    {
        await Host.WaitForAgentAsync("g2");
        var info = await Host.PostAsync("/vms/g2/commands/guest-info");
        Assert.Equal(200, info.Status);
        Assert.Equal("guest-info", info.Body.GetProperty("command").GetString());
        Assert.False(string.IsNullOrEmpty(info.Body.GetProperty("return").GetProperty("version").GetString()));

        var ping = await Host.PostAsync("/vms/g2/commands/guest-ping?timeout=5s", "{}");
        Assert.Equal(200, ping.Status);

        var status = await Host.PostAsync("/vms/g2/commands/guest-fsfreeze-status");
        Assert.Equal("thawed", status.Body.GetProperty("return").GetString());
    }

    [RealAgentFact]
    public async Task Command_must_answer_502_problem_with_the_guest_error_class()
    {
        await Host.WaitForAgentAsync("g2");
        // A schema-valid call the agent refuses: reading a handle that was never opened.
        var (status, body, type) = await Host.PostAsync("/vms/g2/commands/guest-file-read", "{\"handle\": 999999}");
        Assert.Equal(502, status);
        Assert.Equal("application/problem+json", type);
        Assert.Equal("urn:qgaorch:problem:guest-error", body.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("class").GetString()));
    }
}
