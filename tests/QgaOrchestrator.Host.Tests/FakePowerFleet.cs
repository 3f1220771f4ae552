using System.Text.Json;
using QgaOrchestrator.Core.Tests.Fakes;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Host.Tests;

/// <summary>
/// A VM made of fakes only (FakeGuestAgent + FakeQmpServer): power commands flip <see cref="Status"/>
/// and raise the QMP event QEMU would. Nothing here can reach a real agent or the host itself.
/// </summary>
public sealed class FakePowerVm : IAsyncDisposable
{
    private readonly List<string> _seen = [];

    /// <param name="ignore">Takes power commands and does nothing (a guest that never goes down).</param>
    public FakePowerVm(string id, string status = "running", string? refuse = null, bool ignore = false)
    {
        Id = id;
        Status = status;
        Agent.Handler = r =>
        {
            lock (_seen) _seen.Add(r.Execute + (r.Arguments is { } a && a.TryGetProperty("mode", out var m) ? " " + m.GetString() : ""));
            if (!r.Execute.StartsWith("guest-suspend-", StringComparison.Ordinal) && r.Execute != "guest-shutdown") return null;
            if (refuse is not null) return new AgentAction.Respond(FakeGuestAgent.Error(r, "GenericError", refuse));
            if (ignore) return new AgentAction.Silent();
            var (next, evt) = r.Execute switch
            {
                "guest-suspend-disk" => ("shutdown", "SUSPEND_DISK"),
                "guest-shutdown" when r.Arguments is { } a && a.TryGetProperty("mode", out var m) && m.GetString() == "reboot" => ("running", "RESET"),
                "guest-shutdown" => ("shutdown", "SHUTDOWN"),
                _ => ("suspended", "SUSPEND"),
            };
            Status = next;
            _ = Qmp.EmitAsync(evt);
            return new AgentAction.Silent(); // like qemu-ga: no reply to a power command that worked
        };
        Qmp.Handler = (cmd, args) =>
        {
            lock (_seen) _seen.Add(cmd);
            switch (cmd)
            {
                case "query-status":
                    return $"{{\"return\": {{\"status\": \"{Status}\", \"singlestep\": false, \"running\": {(Status == "running" ? "true" : "false")}}}";
                case "query-current-machine":
                    return "{\"return\": {\"wakeup-suspend-support\": true}";
                case "system_wakeup":
                    Status = "running";
                    _ = Qmp.EmitAsync("WAKEUP");
                    return "{\"return\": {}";
                default:
                    return null;
            }
        };
    }

    public string Id { get; }

    public volatile string Status;

    public FakeGuestAgent Agent { get; } = new();

    public FakeQmpServer Qmp { get; } = new();

    public VmConfig Config => new() { Id = Id, QgaSocket = Agent.SocketPath, QmpSocket = Qmp.SocketPath, Labels = new Dictionary<string, string> { ["power"] = Id } };

    /// <summary>Every guest and QMP command seen (guest-shutdown with its mode), in order.</summary>
    public IReadOnlyList<string> Seen
    {
        get
        {
            lock (_seen) return [.. _seen];
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Agent.DisposeAsync();
        await Qmp.DisposeAsync();
    }
}

/// <summary>One qgaorchd over fake VMs only, for the power sagas: s* start running, r* start suspended, x1 refuses, i1 ignores power commands.</summary>
public sealed class FakePowerFleet : IAsyncLifetime
{
    public Dictionary<string, FakePowerVm> Vms { get; } = new[]
    {
        new FakePowerVm("s1"), new FakePowerVm("s2"), new FakePowerVm("d1"), new FakePowerVm("d2"),
        new FakePowerVm("r1", "suspended"), new FakePowerVm("r2", "suspended"),
        new FakePowerVm("x1", refuse: "the guest refuses"), new FakePowerVm("i1", ignore: true),
    }.ToDictionary(v => v.Id);

    public RunningHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Host = await RunningHost.StartAsync(Vms.Values.Select(v => v.Config));
        foreach (var id in Vms.Keys) await WaitConnectedAsync(id);
    }

    /// <summary>Bounded: the agent's sync handshake and the QMP negotiation are done.</summary>
    private async Task WaitConnectedAsync(string id)
    {
        await Host.WaitForAgentAsync(id);
        JsonElement body = default;
        await Eventually.UntilAsync(async () =>
        {
            (_, body, _) = await Host.GetAsync("/vms/" + id);
            return body.GetProperty("monitorConnected").GetBoolean();
        }, TimeSpan.FromSeconds(20), () => $"{id}: monitor not connected: {body}");
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        foreach (var v in Vms.Values) await v.DisposeAsync();
    }
}
