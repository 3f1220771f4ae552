using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading.Channels;

namespace QgaOrchestrator.Host.Tests;

/// <summary>Sagas through the HTTP API against real agents holding real (loop-mounted) filesystems frozen.</summary>
[Collection(HostCollection.Name)]
public sealed class SagaApiSpec(HostFixture fixture)
{
    private RunningHost Host => fixture.Host;

    /// <summary>Reads a saga's server-sent events into a channel: (event name, data).</summary>
    private async Task<(Channel<(string Event, JsonElement Data)> Events, Task Reader)> FollowAsync(string id, CancellationToken ct)
    {
        var events = Channel.CreateUnbounded<(string, JsonElement)>();
        var request = new HttpRequestMessage(HttpMethod.Get, $"/sagas/{id}/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        var response = await Host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var reader = Task.Run(async () =>
        {
            using (response)
            using (var stream = new StreamReader(await response.Content.ReadAsStreamAsync(ct)))
            {
                string name = "";
                while (await stream.ReadLineAsync(ct) is { } line)
                {
                    if (line.StartsWith("event: ", StringComparison.Ordinal)) name = line[7..];
                    else if (line.StartsWith("data: ", StringComparison.Ordinal))
                    {
                        using var doc = JsonDocument.Parse(line[6..]);
                        await events.Writer.WriteAsync((name, doc.RootElement.Clone()), ct);
                    }
                }
            }
            events.Writer.Complete();
        }, ct);
        return (events, reader);
    }

    private static async Task<JsonElement> UntilAsync(Channel<(string Event, JsonElement Data)> events, Func<string, JsonElement, bool> match, List<string> seen)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var (name, data) = await events.Reader.ReadAsync(cts.Token);
            seen.Add(name == "progress" ? data.GetProperty("event").GetString()! : name);
            if (match(name, data)) return data;
        }
    }

    private static Process StartWriter(string mount) =>
        Process.Start(new ProcessStartInfo("/bin/sh", ["-c", $"echo x >> {mount}/writes"]) { UseShellExecute = false })!;

    [RealAgentFact]
    public async Task External_saga_must_hold_the_group_frozen_until_snapshot_done_then_complete_with_progress_events()
    {
        await Host.WaitForAgentAsync("g1");
        await Host.WaitForAgentAsync("g2");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var id = "api-ext-" + Guid.NewGuid().ToString("N")[..8];
        var (status, started, _) = await Host.PostAsync("/sagas/freeze-snapshot-thaw",
            $$"""{"vms": ["g1", "g2"], "mode": "external", "deadline": "30s", "name": "nightly", "id": "{{id}}"}""");
        Assert.Equal(202, status);
        Assert.Equal(id, started.GetProperty("id").GetString());

        var (events, reader) = await FollowAsync(id, cts.Token);
        var seen = new List<string>();
        var frozen = await UntilAsync(events, (_, d) => (d.TryGetProperty("saga", out var s) ? s : d).GetProperty("awaitingSnapshot").GetBoolean(), seen);
        Assert.Equal("state", seen[0]);
        var saga = frozen.TryGetProperty("saga", out var inner) ? inner : frozen;
        Assert.All(saga.GetProperty("vms").EnumerateArray(), vm => Assert.Equal("frozen", vm.GetProperty("step").GetString()));

        // The kernel agrees: writes block while the saga holds the freeze.
        var writers = fixture.Mounts.Select(StartWriter).ToList();
        try
        {
            Assert.All(writers, w => Assert.False(w.WaitForExit(300), "a write went through while frozen"));
            Assert.Equal("frozen", (await Host.PostAsync("/vms/g1/commands/guest-fsfreeze-status")).Body.GetProperty("return").GetString());

            var done = await Host.PostAsync($"/sagas/{id}/snapshot-done", "{}");
            Assert.Equal(202, done.Status);
            var end = await UntilAsync(events, (n, _) => n == "end", seen);
            Assert.Equal("completed", end.GetProperty("outcome").GetString());
            Assert.All(writers, w => Assert.True(w.WaitForExit(10_000), "a write stayed blocked after the thaw"));
        }
        finally
        {
            foreach (var w in writers) w.Dispose();
        }
        await reader;
        Assert.Contains("VmThawed", seen);
        Assert.Contains("SagaEnded", seen);
        Assert.Equal("end", seen[^1]);

        var (_, view, _) = await Host.GetAsync($"/sagas/{id}");
        Assert.Equal("completed", view.GetProperty("outcome").GetString());
        foreach (var vm in view.GetProperty("vms").EnumerateArray())
        {
            Assert.Equal("thawed", vm.GetProperty("step").GetString());
            Assert.True(vm.GetProperty("freezeWindowMs").GetDouble() > 0);
            Assert.True(vm.TryGetProperty("frozenAt", out _));
            Assert.True(vm.TryGetProperty("thawedAt", out _));
        }
        var list = (await Host.GetAsync("/sagas")).Body;
        Assert.Contains(list.EnumerateArray(), s => s.GetProperty("id").GetString() == id && s.GetProperty("outcome").GetString() == "completed");

        // An ended saga takes no more snapshot-done or abort.
        Assert.Equal(409, (await Host.PostAsync($"/sagas/{id}/snapshot-done")).Status);
        Assert.Equal(409, (await Host.PostAsync($"/sagas/{id}/abort")).Status);
        // Its event stream gives the state and the end at once.
        var (again, againReader) = await FollowAsync(id, cts.Token);
        var names = new List<string>();
        await UntilAsync(again, (n, _) => n == "end", names);
        Assert.Equal(["state", "end"], names);
        await againReader;
    }

    [RealAgentFact]
    public async Task Abort_must_thaw_the_group_and_end_the_saga_aborted()
    {
        await Host.WaitForAgentAsync("g2");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var (status, started, _) = await Host.PostAsync("/sagas/freeze-snapshot-thaw", """{"selector": {"tier": "db"}, "mode": "external", "deadline": 30}""");
        Assert.Equal(202, status);
        var id = started.GetProperty("id").GetString()!;
        var (events, reader) = await FollowAsync(id, cts.Token);
        var seen = new List<string>();
        await UntilAsync(events, (_, d) => (d.TryGetProperty("saga", out var s) ? s : d).GetProperty("awaitingSnapshot").GetBoolean(), seen);

        Assert.Equal(202, (await Host.PostAsync($"/sagas/{id}/abort", """{"reason": "operator changed their mind"}""")).Status);
        var end = await UntilAsync(events, (n, _) => n == "end", seen);
        Assert.Equal("aborted", end.GetProperty("outcome").GetString());
        await reader;
        Assert.Equal("thawed", (await Host.PostAsync("/vms/g2/commands/guest-fsfreeze-status")).Body.GetProperty("return").GetString());
    }

    [RealAgentFact]
    public async Task Fstrim_saga_must_trim_the_group_and_report_each_vm()
    {
        await Host.WaitForAgentAsync("g1");
        await Host.WaitForAgentAsync("g2");
        var (status, started, _) = await Host.PostAsync("/sagas/fstrim", """{"vms": ["g1", "g2"], "concurrency": 1}""");
        Assert.Equal(202, status);
        var id = started.GetProperty("id").GetString()!;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var (events, reader) = await FollowAsync(id, cts.Token);
        var end = await UntilAsync(events, (n, _) => n == "end", []);
        await reader;
        Assert.Equal("completed", end.GetProperty("outcome").GetString());
        Assert.All(end.GetProperty("vms").EnumerateArray(), vm => Assert.Equal("trimmed", vm.GetProperty("step").GetString()));
        // Each agent is confined to its scratch mount: that is the one path it reports, with the bytes trimmed.
        Assert.All(end.GetProperty("vms").EnumerateArray(), vm =>
        {
            var path = Assert.Single(vm.GetProperty("trimmed").EnumerateArray());
            Assert.Contains(path.GetProperty("path").GetString(), fixture.Mounts);
            Assert.True(path.GetProperty("trimmedBytes").GetInt64() >= 0);
        });
        Assert.Equal(409, (await Host.PostAsync($"/sagas/{id}/abort")).Status);
    }
}
