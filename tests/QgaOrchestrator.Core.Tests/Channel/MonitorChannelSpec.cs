using Akka.Actor;
using Akka.TestKit;
using QgaOrchestrator.Core.Channel;
using QgaOrchestrator.Core.Tests.Fakes;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Core.Tests.Channel;

public sealed class MonitorChannelSpec : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    private readonly FakeQmpServer _qmp = new();
    private readonly TestProbe _client;
    private readonly TestProbe _listener;

    public MonitorChannelSpec() : base(TestSupport.TestSchedulerConfig)
    {
        _client = CreateTestProbe("client");
        _listener = CreateTestProbe("listener");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _qmp.DisposeAsync();

    private MonitorChannel.Settings Settings => new() { VmId = "vm1", SocketPath = _qmp.SocketPath };

    [Fact]
    public async Task MonitorChannel_must_negotiate_capabilities_then_run_commands_with_ids()
    {
        _qmp.Handler = (cmd, _) => cmd == "query-current-machine" ? "{\"return\": {\"wakeup-suspend-support\": true}" : null;
        var channel = Sys.ActorOf(MonitorChannel.Props(Settings, _listener));
        channel.Tell(new Vm.ExecuteQmp("vm1", "query-current-machine", null, "q1", _client));
        var up = await _listener.ExpectMsgAsync<MonitorChannel.StateChanged>();
        Assert.True(up.Connected);
        var reply = await _client.ExpectMsgAsync<Vm.QmpExecuted>();
        Assert.Equal("q1", reply.RequestId);
        Assert.True(reply.Return!.Value.GetProperty("wakeup-suspend-support").GetBoolean());
        Assert.Equal("qmp_capabilities", await _qmp.Commands.Reader.ReadAsync());
    }

    [Fact]
    public async Task MonitorChannel_must_route_events_to_its_listener()
    {
        var channel = Sys.ActorOf(MonitorChannel.Props(Settings, _listener));
        await _listener.ExpectMsgAsync<MonitorChannel.StateChanged>();
        await _qmp.EmitAsync("SHUTDOWN", """{"guest": true, "reason": "guest-shutdown"}""");
        var ev = await _listener.ExpectMsgAsync<Vm.QmpEvent>();
        Assert.Equal("SHUTDOWN", ev.Name);
        Assert.True(ev.Data!.Value.GetProperty("guest").GetBoolean());
    }

    [Fact]
    public async Task MonitorChannel_must_time_out_a_command_and_drop_its_late_reply()
    {
        _qmp.Handler = (cmd, _) => cmd == "transaction" ? null : "{\"return\": {}";
        var channel = Sys.ActorOf(MonitorChannel.Props(Settings, _listener));
        await _listener.ExpectMsgAsync<MonitorChannel.StateChanged>();
        channel.Tell(new Vm.ExecuteQmp("vm1", "transaction", null, "tx", _client, TimeSpan.FromSeconds(5)));
        while (await _qmp.Commands.Reader.ReadAsync() != "transaction") { }
        ((TestScheduler)Sys.Scheduler).Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(Vm.FailureKind.Timeout, (await _client.ExpectMsgAsync<Vm.QmpExecuted>()).Failure?.Kind);
        channel.Tell(new Vm.ExecuteQmp("vm1", "system_wakeup", null, "w", _client));
        var next = await _client.ExpectMsgAsync<Vm.QmpExecuted>();
        Assert.Equal("w", next.RequestId);
        Assert.True(next.Succeeded);
    }

    [Fact]
    public async Task MonitorChannel_must_drop_and_reconnect_on_a_malformed_frame()
    {
        _qmp.Handler = (cmd, _) => cmd == "query-status" ? "}{ garbage" : null;
        var channel = Sys.ActorOf(MonitorChannel.Props(Settings, _listener));
        Assert.True((await _listener.ExpectMsgAsync<MonitorChannel.StateChanged>()).Connected);
        channel.Tell(new Vm.ExecuteQmp("vm1", "query-status", null, "s", _client));
        Assert.Equal(Vm.FailureKind.ChannelBroken, (await _client.ExpectMsgAsync<Vm.QmpExecuted>()).Failure?.Kind);
        Assert.False((await _listener.ExpectMsgAsync<MonitorChannel.StateChanged>()).Connected);
        ((TestScheduler)Sys.Scheduler).Advance(TimeSpan.FromSeconds(1));
        Assert.True((await _listener.ExpectMsgAsync<MonitorChannel.StateChanged>()).Connected);
    }

    [Fact]
    public async Task MonitorChannel_must_fail_requests_fast_when_the_socket_is_missing()
    {
        var channel = Sys.ActorOf(MonitorChannel.Props(Settings with { SocketPath = "/nonexistent/qmp.sock" }, _listener));
        Assert.False((await _listener.ExpectMsgAsync<MonitorChannel.StateChanged>()).Connected);
        channel.Tell(new Vm.ExecuteQmp("vm1", "query-status", null, "s", _client));
        Assert.Equal(Vm.FailureKind.Unreachable, (await _client.ExpectMsgAsync<Vm.QmpExecuted>()).Failure?.Kind);
    }
}
