using Akka.Actor;
using Akka.TestKit;
using QgaOrchestrator.Core.Tests.Fakes;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol.Qga;

namespace QgaOrchestrator.Core.Tests.Vms;

public sealed class VmActorSpec : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    private readonly FakeGuestAgent _agent = new();
    private readonly FakeQmpServer _qmp = new();
    private readonly TestProbe _client;
    private readonly TestProbe _subscriber;

    public VmActorSpec() : base(TestSupport.TestSchedulerConfig)
    {
        _client = CreateTestProbe("client");
        _subscriber = CreateTestProbe("subscriber");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        await _qmp.DisposeAsync();
    }

    private VmConfig Config => new() { Id = "web-01", QgaSocket = _agent.SocketPath, QmpSocket = _qmp.SocketPath, Disks = ["disk0"] };

    private async Task<Vm.Status> StatusWhenAsync(Akka.Actor.IActorRef vm, Func<Vm.Status, bool> ready)
    {
        Vm.Status? last = null;
        await AwaitAssertAsync(async () =>
        {
            vm.Tell(new Vm.GetStatus("web-01", _client));
            last = await _client.ExpectMsgAsync<Vm.Status>();
            Assert.True(ready(last), last.ToString());
        }, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(20));
        return last!;
    }

    [Fact]
    public async Task VmActor_must_learn_agent_version_commands_freeze_status_and_run_state_on_connect()
    {
        var vm = Sys.ActorOf(Vm.Props(Config));
        var status = await StatusWhenAsync(vm, s => s.AgentVersion is not null && s.FreezeStatus is not null && s.RunState is not null);
        Assert.True(status.AgentConnected);
        Assert.True(status.MonitorConnected);
        Assert.Equal("9.9.9-fake", status.AgentVersion);
        Assert.Contains("guest-ping", status.EnabledCommands);
        Assert.DoesNotContain("guest-exec", status.EnabledCommands);
        Assert.Equal("thawed", status.FreezeStatus);
        Assert.Equal("running", status.RunState);
    }

    [Fact]
    public async Task VmActor_must_pass_requests_to_the_guest_and_track_freeze_and_thaw()
    {
        _agent.Handler = r => r.Execute switch
        {
            "guest-fsfreeze-freeze-list" => new AgentAction.Respond(FakeGuestAgent.Return(r, "1")),
            "guest-fsfreeze-thaw" => new AgentAction.Respond(FakeGuestAgent.Return(r, "1")),
            _ => null,
        };
        var vm = Sys.ActorOf(Vm.Props(Config));
        await StatusWhenAsync(vm, s => s.FreezeStatus == "thawed");
        vm.Tell(VmRequests.Create("web-01", QgaCommands.GuestFsfreezeFreezeList, new GuestFsfreezeFreezeListArguments { Mountpoints = ["/scratch"] }, "f1", _client));
        var frozen = await _client.ExpectMsgAsync<Vm.Executed>();
        Assert.Equal("f1", frozen.RequestId);
        Assert.True(frozen.TryGetResult(QgaCommands.GuestFsfreezeFreezeList, out var count, out _));
        Assert.Equal(1, count);
        await StatusWhenAsync(vm, s => s.FreezeStatus == "frozen");
        vm.Tell(VmRequests.Create("web-01", QgaCommands.GuestFsfreezeThaw, "t1", _client));
        Assert.True((await _client.ExpectMsgAsync<Vm.Executed>()).Succeeded);
        await StatusWhenAsync(vm, s => s.FreezeStatus == "thawed");
        vm.Tell(VmRequests.Create("web-01", QgaCommands.GuestPing, "p1", _client));
        Assert.Equal("p1", (await _client.ExpectMsgAsync<Vm.Executed>()).RequestId);
    }

    [Fact]
    public async Task VmActor_must_publish_qmp_events_and_complete_guest_shutdown_on_SHUTDOWN()
    {
        var vm = Sys.ActorOf(Vm.Props(Config));
        await StatusWhenAsync(vm, s => s.AgentConnected && s.MonitorConnected);
        vm.Tell(new Vm.SubscribeEvents("web-01", _subscriber));
        vm.Tell(VmRequests.Create("web-01", QgaCommands.GuestShutdown, new GuestShutdownArguments { Mode = "powerdown" }, "off", _client));
        while ((await _agent.Requests.NextAsync()).Execute != "guest-shutdown") { }
        await _client.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        await _qmp.EmitAsync("SHUTDOWN", """{"guest": true, "reason": "guest-shutdown"}""");
        var reply = await _client.ExpectMsgAsync<Vm.Executed>();
        Assert.True(reply.Succeeded);
        Assert.Equal("SHUTDOWN", (await _subscriber.ExpectMsgAsync<Vm.QmpEvent>()).Name);
        await StatusWhenAsync(vm, s => s.RunState == "shutdown");
    }

    [Fact]
    public async Task VmActor_must_resync_the_guest_channel_on_the_WAKEUP_event_and_on_request()
    {
        var vm = Sys.ActorOf(Vm.Props(Config));
        await StatusWhenAsync(vm, s => s.AgentConnected && s.MonitorConnected);
        var syncsBefore = _agent.Syncs;
        await _qmp.EmitAsync("WAKEUP");
        await AwaitConditionAsync(() => Task.FromResult(_agent.Syncs == syncsBefore + 1), TimeSpan.FromSeconds(5));
        await StatusWhenAsync(vm, s => s.AgentConnected && s.RunState == "running");
        vm.Tell(new Vm.ResyncGuest("web-01", "operator"));
        await AwaitConditionAsync(() => Task.FromResult(_agent.Syncs == syncsBefore + 2), TimeSpan.FromSeconds(5));
        vm.Tell(VmRequests.Create("web-01", QgaCommands.GuestPing, "p1", _client));
        Assert.True((await _client.ExpectMsgAsync<Vm.Executed>()).Succeeded);
    }

    [Fact]
    public async Task VmActor_must_answer_qmp_requests_without_a_monitor_as_unreachable()
    {
        var vm = Sys.ActorOf(Vm.Props(Config with { QmpSocket = null }));
        vm.Tell(new Vm.ExecuteQmp("web-01", "query-status", null, "s", _client));
        var reply = await _client.ExpectMsgAsync<Vm.QmpExecuted>();
        Assert.Equal(Vm.FailureKind.Unreachable, reply.Failure?.Kind);
        Assert.Contains("no QMP socket", reply.Failure!.Reason);
    }
}
