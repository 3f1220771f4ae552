using Akka.Actor;
using Akka.TestKit;
using QgaOrchestrator.Core.Channel;
using QgaOrchestrator.Core.Tests.Fakes;
using QgaOrchestrator.Core.Vms;
using Xunit.Abstractions;

namespace QgaOrchestrator.Core.Tests.Channel;

/// <summary>
/// Thousands of randomized requests through a chaos proxy in front of a real agent (the fake one,
/// Debian's qemu-ga, our qga-agent). Each request is <c>guest-sync</c> with a unique id, which the
/// agent echoes as its return value, so a misattributed reply is caught by value, not by the id
/// the channel itself checks. Real time, short deadlines.
/// </summary>
public sealed class GuestChannelChaosSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit("akka.loglevel = ERROR")
{
    private static readonly ChaosRates Chaos = new()
    {
        Drop = 0.005,
        Delay = 0.003,
        DelayBy = TimeSpan.FromMilliseconds(400),
        Duplicate = 0.01,
        Stale = 0.01,
        Garbage = 0.01,
        LoneSentinel = 0.01,
        SplitBytes = 0.03,
        Oversized = 0.005,
        Disconnect = 0.003,
    };

    [Fact]
    public async Task GuestChannel_must_never_misattribute_a_reply_under_chaos_with_the_fake_agent()
    {
        await using var agent = new FakeGuestAgent();
        await RunAsync(agent.SocketPath, requests: 3000, seed: 1234);
    }

    [QemuGaFact]
    public async Task GuestChannel_must_never_misattribute_a_reply_under_chaos_with_qemu_ga()
    {
        await using var qemuGa = await QemuGaProcess.StartAsync();
        await RunAsync(qemuGa.SocketPath, requests: 1500, seed: 99);
        output.WriteLine($"qemu-ga restarted {qemuGa.Restarts} times");
    }

    [QgaAgentFact]
    public async Task GuestChannel_must_never_misattribute_a_reply_under_chaos_with_qga_agent()
    {
        await using var agent = await QgaAgentProcess.StartAsync();
        await RunAsync(agent.SocketPath, requests: 1500, seed: 7);
    }

    private async Task RunAsync(string agentSocket, int requests, int seed)
    {
        // QGA_CHAOS_SEED replays (or explores) another run; the seed is printed either way.
        if (int.TryParse(Environment.GetEnvironmentVariable("QGA_CHAOS_SEED"), out var s)) seed = s;
        output.WriteLine($"seed {seed}");
        await using var proxy = new ChaosProxy(agentSocket, seed) { Rates = Chaos };
        var client = CreateTestProbe();
        var settings = new GuestChannel.Settings
        {
            VmId = "chaos",
            SocketPath = proxy.SocketPath,
            SyncTimeout = TimeSpan.FromMilliseconds(300),
            MaxSyncAttempts = 5,
            ReconnectMinBackoff = TimeSpan.FromMilliseconds(10),
            ReconnectMaxBackoff = TimeSpan.FromMilliseconds(200),
            Limits = new() { MaxMessageBytes = 64 * 1024, MaxDepth = 32 },
        };
        var channel = Sys.ActorOf(GuestChannel.Props(settings, CreateTestProbe()));
        var random = new Random(seed);
        var expected = new Dictionary<string, long>();
        var answered = new HashSet<string>();
        int ok = 0, errors = 0, misattributed = 0, duplicates = 0;
        var failures = new Dictionary<Vm.FailureKind, int>();
        var reasons = new List<string>();
        long nextId = 1;
        int sent = 0;

        void SendOne()
        {
            var id = nextId++;
            var requestId = "r" + id;
            expected[requestId] = id;
            channel.Tell(TestSupport.Sync("chaos", id, requestId, client, TimeSpan.FromMilliseconds(250 + random.Next(100))));
            sent++;
        }

        for (int i = 0; i < 4; i++) SendOne(); // a few queued behind the one in flight
        while (answered.Count < requests)
        {
            var reply = await client.ExpectMsgAsync<Vm.Executed>(TimeSpan.FromSeconds(10));
            if (!answered.Add(reply.RequestId)) duplicates++;
            if (reply.Failure is { } f)
            {
                failures[f.Kind] = failures.GetValueOrDefault(f.Kind) + 1;
                reasons.Add($"{reply.RequestId}: {f.Kind} {f.Reason}");
                if (reasons.Count > 30) reasons.RemoveAt(0); // the last few explain a failure
            }
            else if (reply.Error is not null) errors++;
            else if (reply.Return!.Value.GetInt64() != expected[reply.RequestId]) misattributed++;
            else ok++;
            if (sent < requests) SendOne();
        }
        await client.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));

        output.WriteLine($"{requests} requests, {proxy.Faults} faults injected: {ok} ok, {errors} guest errors, " +
                         string.Join(", ", failures.Select(kv => $"{kv.Value} {kv.Key}")));
        foreach (var r in reasons) output.WriteLine(r);
        Assert.Equal(0, misattributed);
        Assert.Equal(0, duplicates);
        Assert.Equal(requests, answered.Count);
        Assert.True(proxy.Faults > 50, "the chaos proxy must actually have injected faults");
        Assert.True(ok > requests / 2, $"only {ok} of {requests} succeeded");

        // With the chaos off the channel recovers and every request succeeds.
        proxy.Rates = ChaosRates.None;
        await AwaitAssertAsync(async () =>
        {
            channel.Tell(TestSupport.Ping("chaos", "probe", client, TimeSpan.FromSeconds(1)));
            Assert.True((await client.ExpectMsgAsync<Vm.Executed>(TimeSpan.FromSeconds(3))).Succeeded);
        }, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(100));
        for (int i = 0; i < 50; i++)
        {
            channel.Tell(TestSupport.Sync("chaos", 1_000_000 + i, "after" + i, client, TimeSpan.FromSeconds(2)));
            var r = await client.ExpectMsgAsync<Vm.Executed>(TimeSpan.FromSeconds(5));
            Assert.True(r.Succeeded, r.ToString());
            Assert.Equal(1_000_000 + i, r.Return!.Value.GetInt64());
        }
    }
}
