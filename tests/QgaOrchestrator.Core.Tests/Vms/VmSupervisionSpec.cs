using Akka.Actor;
using QgaOrchestrator.Core.Channel;
using QgaOrchestrator.Core.Tests.Fakes;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Core.Tests.Vms;

/// <summary>The VM actor's declared strategy: an I/O fault restarts the channel behind its delay; nothing is lost silently.</summary>
public sealed class VmSupervisionSpec() : Akka.TestKit.Xunit2.TestKit("akka.loglevel = OFF")
{
    [Fact]
    public async Task VmActor_must_restart_a_faulted_guest_channel_and_answer_its_pending_requests()
    {
        await using var agent = new FakeGuestAgent();
        agent.Handler = r => r.Execute == "guest-sync" && r.ArgInt("id") == 1 ? new AgentAction.Silent() : null;
        var client = CreateTestProbe();
        var settings = new Vm.Settings
        {
            QueryAgentOnConnect = false,
            Guest = Vm.Settings.Default.Guest with { RestartDelay = TimeSpan.FromMilliseconds(50) },
        };
        var vm = Sys.ActorOf(Vm.Props(new VmConfig { Id = "sup", QgaSocket = agent.SocketPath }, settings), "vm-sup");
        vm.Tell(TestSupport.Sync("sup", 1, "held", client, TimeSpan.FromSeconds(30)));
        vm.Tell(TestSupport.Sync("sup", 2, "queued", client, TimeSpan.FromSeconds(30)));
        await agent.Requests.NextCommandAsync();

        var guest = await Sys.ActorSelection(vm.Path / "guest").ResolveOne(TimeSpan.FromSeconds(3));
        guest.Tell(new GuestChannel.SimulateFault("simulated I/O fault"));
        var replies = new[] { await client.ExpectMsgAsync<Vm.Executed>(), await client.ExpectMsgAsync<Vm.Executed>() };
        Assert.All(replies, r => Assert.Equal(Vm.FailureKind.ChannelBroken, r.Failure?.Kind));

        await AwaitAssertAsync(async () =>
        {
            vm.Tell(TestSupport.Sync("sup", 3, "after", client, TimeSpan.FromSeconds(2)));
            var after = await client.ExpectMsgAsync<Vm.Executed>(TimeSpan.FromSeconds(3));
            Assert.True(after.Succeeded, after.ToString());
            Assert.Equal(3, after.Return!.Value.GetInt64());
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));
        Assert.Equal(2, agent.Connections); // the restarted channel opened a new connection (and synced)
    }
}
