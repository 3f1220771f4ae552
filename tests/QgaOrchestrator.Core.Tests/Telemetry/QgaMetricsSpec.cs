using Akka.Actor;
using Akka.TestKit;
using QgaOrchestrator.Core.Channel;
using QgaOrchestrator.Core.Telemetry;
using QgaOrchestrator.Core.Tests.Fakes;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Core.Tests.Telemetry;

/// <summary>The guest channel's instruments, read back through a <c>MeterListener</c>.</summary>
public sealed class QgaMetricsSpec : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    private readonly string _vmId = "metrics-" + Guid.NewGuid().ToString("N")[..8];
    private readonly FakeGuestAgent _agent = new();
    private readonly MetricsRecorder _metrics = new();
    private readonly TestProbe _client;
    private readonly TestProbe _listener;

    public QgaMetricsSpec()
    {
        _client = CreateTestProbe("client");
        _listener = CreateTestProbe("listener");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _metrics.Dispose();
        await _agent.DisposeAsync();
    }

    private GuestChannel.Settings Settings(string path) => new() { VmId = _vmId, SocketPath = path, ReconnectMinBackoff = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task GuestChannel_must_count_each_command_and_record_its_latency_with_vm_command_and_outcome()
    {
        var channel = Sys.ActorOf(GuestChannel.Props(Settings(_agent.SocketPath), _listener));
        await _listener.FishForMessageAsync(m => m is GuestChannel.StateChanged { Phase: GuestChannel.Phase.Ready });
        channel.Tell(TestSupport.Ping(_vmId, "p", _client));
        Assert.True((await _client.ExpectMsgAsync<Vm.Executed>()).Succeeded);

        var count = Assert.Single(_metrics.Of("qga.commands", "vm", _vmId));
        Assert.Equal(1, count.Value);
        Assert.Equal("guest-ping", count.Tag("command"));
        Assert.Equal("ok", count.Tag("outcome"));
        var latency = Assert.Single(_metrics.Of("qga.command.duration", "vm", _vmId));
        Assert.InRange(latency.Value, 0, 5);
        Assert.Equal("guest-ping", latency.Tag("command"));
    }

    [Fact]
    public async Task GuestChannel_must_count_a_break_and_the_unreachable_outcome_when_the_socket_is_missing()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid().ToString("N"), "qga.sock");
        var channel = Sys.ActorOf(GuestChannel.Props(Settings(missing), _listener));
        Assert.Equal(GuestChannel.Phase.Disconnected, (await _listener.ExpectMsgAsync<GuestChannel.StateChanged>()).Phase);
        channel.Tell(TestSupport.Ping(_vmId, "p", _client));
        await _client.ExpectMsgAsync<Vm.Executed>();

        var brk = Assert.Single(_metrics.Of("qga.channel.breaks", "vm", _vmId));
        Assert.Equal("disconnected", brk.Tag("kind"));
        Assert.Equal("unreachable", Assert.Single(_metrics.Of("qga.commands", "vm", _vmId)).Tag("outcome"));
    }

    [Fact]
    public void QgaMetrics_must_name_every_failure_kind_as_an_outcome()
    {
        foreach (var kind in Enum.GetValues<Vm.FailureKind>())
            Assert.NotEqual("failed", QgaMetrics.OutcomeOf(false, new Vm.Failure(kind, "x")));
        Assert.Equal("error", QgaMetrics.OutcomeOf(true, null));
    }
}
