using Akka.Actor;
using Akka.TestKit;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Tests.Fakes;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Core.Tests.Fleet;

public sealed class FleetManagerSpec : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    private readonly FakeGuestAgent _a = new();
    private readonly FakeGuestAgent _b = new();
    private readonly TestProbe _client;
    private readonly TestProbe _admin;

    public FleetManagerSpec() : base("akka.loglevel = WARNING")
    {
        _client = CreateTestProbe("client");
        _admin = CreateTestProbe("admin");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private Akka.Actor.IActorRef StartFleet() => Sys.ActorOf(FleetManager.Props(new FleetManager.Settings
    {
        Vms = [new VmConfig { Id = "a", QgaSocket = _a.SocketPath }, new VmConfig { Id = "b", QgaSocket = _b.SocketPath }],
    }), FleetManager.ActorName);

    [Fact]
    public async Task FleetManager_must_route_requests_to_the_vm_by_id()
    {
        var fleet = StartFleet();
        fleet.Tell(TestSupport.Sync("b", 5, "rb", _client, TimeSpan.FromSeconds(5)));
        var reply = await _client.ExpectMsgAsync<Vm.Executed>();
        Assert.Equal("b", reply.VmId);
        Assert.Equal(5, reply.Return!.Value.GetInt64());
        Assert.Equal(0, _a.Requests.Reader.TryRead(out var r) && r.Execute == "guest-sync" ? 1 : 0);
    }

    [Fact]
    public async Task FleetManager_must_answer_unknown_vm_to_the_requests_reply_to()
    {
        var fleet = StartFleet();
        fleet.Tell(TestSupport.Ping("nope", "r1", _client));
        var unknown = await _client.ExpectMsgAsync<FleetManager.UnknownVm>();
        Assert.Equal("nope", unknown.VmId);
        Assert.Equal("r1", unknown.RequestId);
        fleet.Tell(new Vm.GetStatus("nope", _client));
        await _client.ExpectMsgAsync<FleetManager.UnknownVm>();
    }

    [Fact]
    public async Task FleetManager_must_add_and_remove_vms_at_runtime()
    {
        await using var c = new FakeGuestAgent();
        var fleet = StartFleet();
        fleet.Tell(new FleetManager.AddVm(new VmConfig { Id = "c", QgaSocket = c.SocketPath }, _admin));
        Assert.Equal("c", (await _admin.ExpectMsgAsync<FleetManager.VmAdded>()).VmId);
        fleet.Tell(new FleetManager.AddVm(new VmConfig { Id = "c", QgaSocket = c.SocketPath }, _admin));
        Assert.Contains("already exists", (await _admin.ExpectMsgAsync<FleetManager.UnknownVm>()).Reason);
        fleet.Tell(TestSupport.Ping("c", "pc", _client, TimeSpan.FromSeconds(5)));
        Assert.True((await _client.ExpectMsgAsync<Vm.Executed>()).Succeeded);

        fleet.Tell(new FleetManager.RemoveVm("c", _admin));
        fleet.Tell(new FleetManager.AddVm(new VmConfig { Id = "c", QgaSocket = c.SocketPath }, _admin)); // re-add while stopping
        Assert.Equal("c", (await _admin.ExpectMsgAsync<FleetManager.VmRemoved>()).VmId);
        Assert.Equal("c", (await _admin.ExpectMsgAsync<FleetManager.VmAdded>()).VmId);
        fleet.Tell(new FleetManager.RemoveVm("c", _admin));
        await _admin.ExpectMsgAsync<FleetManager.VmRemoved>();
        fleet.Tell(TestSupport.Ping("c", "gone", _client));
        await _client.ExpectMsgAsync<FleetManager.UnknownVm>();
        fleet.Tell(new FleetManager.GetConfigs(_admin));
        Assert.Equal(["a", "b"], (await _admin.ExpectMsgAsync<FleetManager.Configs>()).Vms.Select(v => v.Id).ToArray());
    }

    [Fact]
    public async Task FleetManager_must_reject_an_invalid_vm_id()
    {
        var fleet = StartFleet();
        fleet.Tell(new FleetManager.AddVm(new VmConfig { Id = "bad/id", QgaSocket = "/x" }, _admin));
        Assert.Contains("letters, digits", (await _admin.ExpectMsgAsync<FleetManager.UnknownVm>()).Reason);
    }

    [Fact]
    public async Task FleetManager_must_report_the_status_of_every_vm()
    {
        var fleet = StartFleet();
        await AwaitAssertAsync(async () =>
        {
            fleet.Tell(new FleetManager.GetFleetStatus(_client));
            var status = await _client.ExpectMsgAsync<FleetManager.FleetStatus>();
            Assert.Equal(["a", "b"], status.Vms.Select(v => v.VmId).ToArray());
            Assert.All(status.Vms, v => Assert.True(v.AgentConnected && v.AgentVersion == "9.9.9-fake", v.ToString()));
        }, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(50));
    }
}
