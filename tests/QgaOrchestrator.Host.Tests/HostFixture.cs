using QgaOrchestrator.Core.Tests.Fakes;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Host.Tests;

/// <summary>
/// One qgaorchd for a test class, with two scratch guests: g1 (tier=web, a fake QMP monitor with disk0)
/// and g2 (tier=db). Without root or the agent binary the VMs are configured but their agents are absent,
/// and only the tests that need no agent run.
/// </summary>
public sealed class HostFixture : IAsyncLifetime
{
    private readonly RealGuests _guests = new("qga-host-");

    public FakeQmpServer Qmp { get; } = new()
    {
        Handler = (cmd, _) => cmd switch
        {
            "transaction" => "{\"return\": {}",
            "query-named-block-nodes" => "{\"return\": [{\"node-name\": \"disk0\", \"file\": \"/fake/disk0.qcow2\"}]",
            _ => null,
        },
    };

    public RunningHost Host { get; private set; } = null!;

    public IReadOnlyList<string> Mounts => _guests.Mounts;

    public async Task InitializeAsync()
    {
        var vms = new[]
        {
            Guest("g1") with { Labels = new Dictionary<string, string> { ["tier"] = "web" }, QmpSocket = Qmp.SocketPath, Disks = ["disk0"] },
            Guest("g2") with { Labels = new Dictionary<string, string> { ["tier"] = "db" } },
        };
        Host = await RunningHost.StartAsync(vms);
    }

    /// <summary>A real agent on its own loop mount, or (where that cannot run) a VM whose socket is absent.</summary>
    private VmConfig Guest(string id) => RealAgentFactAttribute.SkipReason is null ? _guests.Start(id) : _guests.Absent(id);

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Qmp.DisposeAsync();
        _guests.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class HostCollection : ICollectionFixture<HostFixture>
{
    public const string Name = "qgaorchd with two scratch guests";
}
