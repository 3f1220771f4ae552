using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.TestKit;
using QgaOrchestrator.Core.Channel;
using QgaOrchestrator.Core.Tests.Fakes;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol.Qga;

namespace QgaOrchestrator.Core.Tests.Channel;

/// <summary>
/// The guest channel against a scripted agent speaking real bytes; time is the TestScheduler's,
/// advanced by hand, so timeouts are exact and nothing sleeps.
/// </summary>
public sealed class GuestChannelSpec : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    private const string VmId = "vm-test";
    private readonly FakeGuestAgent _agent = new();
    private readonly TestProbe _client;
    private readonly TestProbe _listener;

    public GuestChannelSpec() : base(TestSupport.TestSchedulerConfig)
    {
        _client = CreateTestProbe("client");
        _listener = CreateTestProbe("listener");
    }

    private TestScheduler Clock => (TestScheduler)Sys.Scheduler;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _agent.DisposeAsync();

    private GuestChannel.Settings Settings(string? path = null) => new()
    {
        VmId = VmId,
        SocketPath = path ?? _agent.SocketPath,
        ReconnectMinBackoff = TimeSpan.FromMilliseconds(100),
        Limits = new() { MaxMessageBytes = 1024, MaxDepth = 16 },
    };

    private async Task<IActorRef> ReadyChannelAsync(GuestChannel.Settings? settings = null)
    {
        var channel = Sys.ActorOf(GuestChannel.Props(settings ?? Settings(), _listener));
        await _listener.FishForMessageAsync(m => m is GuestChannel.StateChanged { Phase: GuestChannel.Phase.Ready });
        return channel;
    }

    private async Task<Vm.Executed> ReplyAsync() => await _client.ExpectMsgAsync<Vm.Executed>(TimeSpan.FromSeconds(5));

    [Fact]
    public async Task GuestChannel_must_sync_past_stale_replies_and_the_sentinel_parse_error_before_the_first_request()
    {
        // A previous client left replies and half a request behind; qemu-ga hands them to the next client.
        _agent.OnConnect = _ => Encoding.UTF8.GetBytes("{\"return\": 777}\n{\"return\": {}, \"id\": 1}\n{\"return\": [1, 2");
        var channel = Sys.ActorOf(GuestChannel.Props(Settings(), _listener));
        channel.Tell(TestSupport.Sync(VmId, 41, "r1", _client));

        var sync = await _agent.Requests.NextAsync();
        Assert.Equal("guest-sync-delimited", sync.Execute);
        var first = await _agent.Requests.NextAsync();
        Assert.Equal("guest-sync", first.Execute); // only after the handshake
        var reply = await ReplyAsync();
        Assert.True(reply.Succeeded, reply.ToString());
        Assert.Equal(41, reply.Return!.Value.GetInt64());
        Assert.Equal("r1", reply.RequestId);
    }

    [Fact]
    public async Task GuestChannel_must_keep_exactly_one_request_in_flight()
    {
        var gate = new TaskCompletionSource();
        _agent.Handler = r => r.Execute == "guest-sync" && r.ArgInt("id") == 1
            ? new AgentAction.After(gate.Task, FakeGuestAgent.Return(r, "1")) : null;
        var channel = await ReadyChannelAsync();
        for (int i = 1; i <= 3; i++) channel.Tell(TestSupport.Sync(VmId, i, "r" + i, _client));

        Assert.Equal(1, (await _agent.Requests.NextCommandAsync()).ArgInt("id"));
        channel.Tell(new GuestChannel.GetState(_client));
        var state = await _client.ExpectMsgAsync<GuestChannel.State>();
        Assert.Equal(2, state.Queued);
        Assert.True(state.InFlight);
        Assert.False(_agent.Requests.Reader.TryRead(out _)); // the others are not on the wire

        gate.SetResult();
        for (int i = 1; i <= 3; i++)
        {
            var reply = await ReplyAsync();
            Assert.Equal("r" + i, reply.RequestId);
            Assert.Equal(i, reply.Return!.Value.GetInt64());
        }
    }

    [Fact]
    public async Task GuestChannel_must_fail_a_queued_request_whose_deadline_passes_without_sending_it()
    {
        var gate = new TaskCompletionSource();
        _agent.Handler = r => r.Execute == "guest-sync" && r.ArgInt("id") == 1
            ? new AgentAction.After(gate.Task, FakeGuestAgent.Return(r, "1")) : null;
        var channel = await ReadyChannelAsync();
        channel.Tell(TestSupport.Sync(VmId, 1, "slow", _client, TimeSpan.FromSeconds(30)));
        await _agent.Requests.NextCommandAsync();
        channel.Tell(TestSupport.Sync(VmId, 2, "queued", _client, TimeSpan.FromSeconds(1)));
        channel.Tell(new GuestChannel.GetState(_client));
        Assert.Equal(1, (await _client.ExpectMsgAsync<GuestChannel.State>()).Queued);

        Clock.Advance(TimeSpan.FromSeconds(1.5));
        var expired = await ReplyAsync();
        Assert.Equal("queued", expired.RequestId);
        Assert.Equal(Vm.FailureKind.Timeout, expired.Failure?.Kind);
        Assert.Contains("not sent", expired.Failure!.Reason);

        gate.SetResult();
        var slow = await ReplyAsync();
        Assert.Equal("slow", slow.RequestId);
        Assert.Equal(1, slow.Return!.Value.GetInt64());
        Assert.False(_agent.Requests.Reader.TryRead(out _)); // request 2 never reached the agent
    }

    [Fact]
    public async Task GuestChannel_must_resync_after_a_timeout_and_never_hand_the_late_reply_to_the_next_request()
    {
        AgentRequest? timedOut = null;
        int syncs = 0;
        _agent.Handler = r =>
        {
            if (r.Execute == "guest-sync" && r.ArgInt("id") == 1)
            {
                timedOut = r;
                return new AgentAction.Silent();
            }
            if (r.Execute == "guest-sync-delimited" && ++syncs == 2)
            {
                // The late reply lands right before the resync reply, in the same write.
                var late = FakeGuestAgent.Return(timedOut!, "1");
                byte[] sync = [0xFF, .. FakeGuestAgent.Return(r, r.Arguments!.Value.GetProperty("id").GetRawText())];
                return new AgentAction.Respond([.. late, .. sync]);
            }
            return null;
        };
        var channel = await ReadyChannelAsync();
        channel.Tell(TestSupport.Sync(VmId, 1, "first", _client));
        await _agent.Requests.NextCommandAsync();

        Clock.Advance(TimeSpan.FromSeconds(3.1)); // guest-sync's default timeout is 3 s
        var first = await ReplyAsync();
        Assert.Equal(Vm.FailureKind.Timeout, first.Failure?.Kind);
        await _listener.FishForMessageAsync(m => m is GuestChannel.StateChanged { Phase: GuestChannel.Phase.Ready });

        channel.Tell(TestSupport.Sync(VmId, 2, "second", _client));
        var second = await ReplyAsync();
        Assert.Equal("second", second.RequestId);
        Assert.Equal(2, second.Return!.Value.GetInt64());
    }

    [Theory]
    [InlineData("oversized")]
    [InlineData("utf8")]
    [InlineData("garbage")]
    [InlineData("deep")]
    [InlineData("wrong-id")]
    public async Task GuestChannel_must_break_and_resync_on_a_bad_reply_then_serve_the_next_request(string fault)
    {
        _agent.Handler = r =>
        {
            if (r.Execute != "guest-sync" || r.ArgInt("id") != 1) return null;
            byte[] bad = fault switch
            {
                "oversized" => FakeGuestAgent.Return(r, "\"" + new string('x', 4096) + "\""),
                "utf8" => [.. "{\"return\": \"\u0041"u8, 0xC3, 0x28, .. "\"}\n"u8],
                "garbage" => "}{ not json at all\n"u8.ToArray(),
                "deep" => FakeGuestAgent.Return(r, new string('[', 40) + new string(']', 40)),
                _ => "{\"return\": 1, \"id\": 123456789}\n"u8.ToArray(),
            };
            return new AgentAction.Respond(bad);
        };
        var channel = await ReadyChannelAsync();
        channel.Tell(TestSupport.Sync(VmId, 1, "bad", _client));
        var broken = await ReplyAsync();
        Assert.Equal(Vm.FailureKind.ChannelBroken, broken.Failure?.Kind);

        channel.Tell(TestSupport.Sync(VmId, 2, "next", _client));
        var next = await ReplyAsync();
        Assert.True(next.Succeeded, next.ToString());
        Assert.Equal(2, next.Return!.Value.GetInt64());
    }

    [Fact]
    public async Task GuestChannel_must_treat_a_missing_socket_as_a_state_not_a_crash()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid().ToString("N"), "qga.sock");
        var channel = Sys.ActorOf(GuestChannel.Props(Settings(missing), _listener));
        Watch(channel);
        var down = await _listener.ExpectMsgAsync<GuestChannel.StateChanged>();
        Assert.Equal(GuestChannel.Phase.Disconnected, down.Phase);

        channel.Tell(TestSupport.Ping(VmId, "p", _client));
        var reply = await ReplyAsync();
        Assert.Equal(Vm.FailureKind.Unreachable, reply.Failure?.Kind);
        Assert.Contains("no socket", reply.Failure!.Reason);

        Clock.Advance(TimeSpan.FromSeconds(1)); // the backoff retry fails the same way, calmly
        Assert.Equal(GuestChannel.Phase.Disconnected, (await _listener.ExpectMsgAsync<GuestChannel.StateChanged>()).Phase);
        await ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100)); // not terminated
    }

    [Fact]
    public async Task GuestChannel_must_become_broken_after_bounded_sync_attempts_keeping_the_first_reason()
    {
        _agent.AnswerSync = false; // the socket is there (QEMU holds it) but no agent answers
        var channel = Sys.ActorOf(GuestChannel.Props(Settings(), _listener));
        channel.Tell(TestSupport.Ping(VmId, "p", _client, TimeSpan.FromMinutes(1)));
        for (int attempt = 1; attempt <= 3; attempt++)
        {
            Assert.Equal("guest-sync-delimited", (await _agent.Requests.NextAsync()).Execute);
            Clock.Advance(TimeSpan.FromSeconds(2.1));
        }
        var broken = await _listener.FishForMessageAsync<GuestChannel.StateChanged>(m => m.Phase == GuestChannel.Phase.Broken);
        Assert.StartsWith("connected", broken.Reason);
        Assert.Contains("3 attempts", broken.Reason);
        var reply = await ReplyAsync();
        Assert.Equal(Vm.FailureKind.Unreachable, reply.Failure?.Kind);

        _agent.AnswerSync = true; // the agent starts: the next reconnect gets through
        Clock.Advance(TimeSpan.FromSeconds(1));
        await _listener.FishForMessageAsync(m => m is GuestChannel.StateChanged { Phase: GuestChannel.Phase.Ready });
        channel.Tell(TestSupport.Ping(VmId, "p2", _client));
        Assert.True((await ReplyAsync()).Succeeded);
    }

    [Fact]
    public async Task GuestChannel_must_complete_guest_shutdown_on_the_SHUTDOWN_event_not_a_reply()
    {
        var channel = await ReadyChannelAsync();
        channel.Tell(TestSupport.Command(VmId, QgaCommands.GuestShutdown, "off", _client, """{"mode": "powerdown"}"""));
        Assert.Equal("guest-shutdown", (await _agent.Requests.NextCommandAsync()).Execute);
        await _client.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        channel.Tell(new GuestChannel.PowerEvent("SHUTDOWN"));
        var reply = await ReplyAsync();
        Assert.True(reply.Succeeded);
        Assert.Equal("off", reply.RequestId);
    }

    [Fact]
    public async Task GuestChannel_must_complete_guest_suspend_when_the_channel_closes()
    {
        _agent.Handler = r => r.Execute == "guest-suspend-ram" ? new AgentAction.Close() : null;
        var channel = await ReadyChannelAsync();
        channel.Tell(TestSupport.Command(VmId, QgaCommands.GuestSuspendRam, "sleep", _client));
        var reply = await ReplyAsync();
        Assert.True(reply.Succeeded, reply.ToString());
    }

    [Fact]
    public async Task GuestChannel_must_resync_on_request_before_the_next_command()
    {
        var channel = await ReadyChannelAsync();
        Assert.Equal("guest-sync-delimited", (await _agent.Requests.NextAsync()).Execute);
        channel.Tell(new GuestChannel.Resync("woke up"));
        channel.Tell(TestSupport.Ping(VmId, "p1", _client));
        var sync = await _agent.Requests.NextAsync();
        Assert.Equal("guest-sync-delimited", sync.Execute); // the handshake again, before the ping
        Assert.Equal("guest-ping", (await _agent.Requests.NextAsync()).Execute);
        Assert.True((await ReplyAsync()).Succeeded);
    }

    [Fact]
    public async Task GuestChannel_must_fail_the_in_flight_request_when_told_to_resync()
    {
        _agent.Handler = r => r.Execute == "guest-suspend-ram" ? new AgentAction.Silent() : null;
        var channel = await ReadyChannelAsync();
        channel.Tell(TestSupport.Command(VmId, QgaCommands.GuestSuspendRam, "sleep", _client));
        Assert.Equal("guest-suspend-ram", (await _agent.Requests.NextCommandAsync()).Execute);
        channel.Tell(new GuestChannel.Resync("woke up"));
        var reply = await ReplyAsync();
        Assert.Equal(Vm.FailureKind.ChannelBroken, reply.Failure?.Kind);
        Assert.Contains("resync requested: woke up", reply.Failure!.Reason);
        channel.Tell(TestSupport.Ping(VmId, "p1", _client));
        Assert.True((await ReplyAsync()).Succeeded);
    }

    [Fact]
    public async Task GuestChannel_must_deliver_the_agents_error_for_a_refused_shutdown()
    {
        _agent.Handler = r => r.Execute == "guest-shutdown"
            ? new AgentAction.Respond(FakeGuestAgent.Error(r, "CommandNotFound", "Command guest-shutdown has been disabled")) : null;
        var channel = await ReadyChannelAsync();
        channel.Tell(TestSupport.Command(VmId, QgaCommands.GuestShutdown, "off", _client));
        var reply = await ReplyAsync();
        Assert.Equal("CommandNotFound", reply.Error?.Class);
    }

    [Fact]
    public async Task GuestChannel_must_apply_per_command_default_timeouts_and_per_request_overrides()
    {
        _agent.Handler = r => r.Execute is "guest-fsfreeze-freeze-list" or "guest-ping" ? new AgentAction.Silent() : null;
        var channel = await ReadyChannelAsync();
        channel.Tell(TestSupport.Command(VmId, QgaCommands.GuestFsfreezeFreezeList, "freeze", _client, """{"mountpoints": ["/nonexistent"]}"""));
        await _agent.Requests.NextCommandAsync();
        Clock.Advance(TimeSpan.FromSeconds(59));
        await _client.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        Clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(Vm.FailureKind.Timeout, (await ReplyAsync()).Failure?.Kind);

        await _listener.FishForMessageAsync(m => m is GuestChannel.StateChanged { Phase: GuestChannel.Phase.Ready });
        channel.Tell(TestSupport.Ping(VmId, "ping", _client, TimeSpan.FromSeconds(10)));
        await _agent.Requests.NextCommandAsync();
        Clock.Advance(TimeSpan.FromSeconds(4)); // past ping's 3 s default, inside the override
        await _client.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        Clock.Advance(TimeSpan.FromSeconds(7));
        Assert.Equal(Vm.FailureKind.Timeout, (await ReplyAsync()).Failure?.Kind);
    }

    [Fact]
    public async Task GuestChannel_must_fail_the_in_flight_request_and_reconnect_when_the_agent_drops_the_connection()
    {
        _agent.Handler = r => r.Execute == "guest-sync" && r.ArgInt("id") == 1 ? new AgentAction.Silent() : null;
        var channel = await ReadyChannelAsync();
        channel.Tell(TestSupport.Sync(VmId, 1, "lost", _client));
        await _agent.Requests.NextCommandAsync();
        _agent.DropClients();
        var lost = await ReplyAsync();
        Assert.Equal(Vm.FailureKind.ChannelBroken, lost.Failure?.Kind);
        await _listener.FishForMessageAsync(m => m is GuestChannel.StateChanged { Phase: GuestChannel.Phase.Disconnected });

        Clock.Advance(TimeSpan.FromSeconds(1));
        await _listener.FishForMessageAsync(m => m is GuestChannel.StateChanged { Phase: GuestChannel.Phase.Ready });
        channel.Tell(TestSupport.Sync(VmId, 2, "after", _client));
        Assert.Equal(2, (await ReplyAsync()).Return!.Value.GetInt64());
        Assert.Equal(2, _agent.Connections);
    }

    [Fact]
    public async Task GuestChannel_must_reject_the_reserved_handshake_and_bad_arguments_without_sending()
    {
        var channel = await ReadyChannelAsync();
        channel.Tell(TestSupport.Command(VmId, QgaCommands.GuestSyncDelimited, "s", _client, """{"id": 5}"""));
        Assert.Equal(Vm.FailureKind.Rejected, (await ReplyAsync()).Failure?.Kind);
        channel.Tell(TestSupport.Command(VmId, QgaCommands.GuestPing, "p", _client, """{"extra": 1}"""));
        var bad = await ReplyAsync();
        Assert.Equal(Vm.FailureKind.Rejected, bad.Failure?.Kind);
        Assert.Contains("extra", bad.Failure!.Reason);
        Assert.False(_agent.Requests.Reader.TryRead(out var r) && r.Execute != "guest-sync-delimited");
    }

    [Fact]
    public async Task GuestChannel_must_reject_requests_beyond_its_queue_bound()
    {
        _agent.Handler = r => r.Execute == "guest-ping" ? new AgentAction.Silent() : null;
        var channel = await ReadyChannelAsync(Settings() with { MaxQueued = 2 });
        for (int i = 0; i < 4; i++) channel.Tell(TestSupport.Ping(VmId, "p" + i, _client));
        var rejected = await ReplyAsync(); // p0 in flight, p1 and p2 queued, p3 over the bound
        Assert.Equal("p3", rejected.RequestId);
        Assert.Equal(Vm.FailureKind.Rejected, rejected.Failure?.Kind);
    }

    [Fact]
    public async Task GuestChannel_must_answer_queued_requests_when_it_stops()
    {
        _agent.Handler = r => r.Execute == "guest-ping" ? new AgentAction.Silent() : null;
        var channel = await ReadyChannelAsync();
        channel.Tell(TestSupport.Ping(VmId, "a", _client));
        channel.Tell(TestSupport.Ping(VmId, "b", _client));
        await _agent.Requests.NextCommandAsync();
        // A PoisonPill queues behind "b" (Sys.Stop would overtake it as a system message and leave "b" to dead letters).
        channel.Tell(PoisonPill.Instance);
        var replies = new[] { await ReplyAsync(), await ReplyAsync() };
        Assert.All(replies, r => Assert.Equal(Vm.FailureKind.Rejected, r.Failure?.Kind));
        Assert.Equal(["a", "b"], replies.Select(r => r.RequestId).Order().ToArray());
    }
}
