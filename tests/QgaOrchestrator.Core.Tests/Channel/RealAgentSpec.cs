using Akka.Actor;
using QgaOrchestrator.Core.Tests.Fakes;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol.Qga;

namespace QgaOrchestrator.Core.Tests.Channel;

/// <summary>The VM actor and its guest channel against Debian's qemu-ga over a unix socket.</summary>
public sealed class RealAgentSpec() : Akka.TestKit.Xunit2.TestKit("akka.loglevel = WARNING")
{
    [QemuGaFact]
    public async Task VmActor_must_talk_to_real_qemu_ga_and_learn_its_commands()
    {
        await using var qga = await QemuGaProcess.StartAsync();
        var client = CreateTestProbe();
        var vm = Sys.ActorOf(Vm.Props(new VmConfig { Id = "real", QgaSocket = qga.SocketPath }));
        vm.Tell(VmRequests.Create("real", QgaCommands.GuestInfo, "info", client));
        var info = await client.ExpectMsgAsync<Vm.Executed>(TimeSpan.FromSeconds(10));
        Assert.True(info.TryGetResult(QgaCommands.GuestInfo, out var agentInfo, out var problem), problem);
        Assert.StartsWith("7.", agentInfo!.Version);
        Assert.Contains(agentInfo.SupportedCommands, c => c.Name == "guest-shutdown" && !c.Enabled);

        vm.Tell(VmRequests.Create("real", QgaCommands.GuestShutdown, new GuestShutdownArguments(), "off", client));
        var refused = await client.ExpectMsgAsync<Vm.Executed>(TimeSpan.FromSeconds(5)); // blocked: an error reply, never a shutdown
        Assert.Equal("CommandNotFound", refused.Error?.Class);

        for (int i = 0; i < 200; i++)
        {
            vm.Tell(TestSupport.Sync("real", i, "s" + i, client));
            Assert.Equal(i, (await client.ExpectMsgAsync<Vm.Executed>()).Return!.Value.GetInt64());
        }
        await AwaitAssertAsync(async () =>
        {
            vm.Tell(new Vm.GetStatus("real", client));
            var status = await client.ExpectMsgAsync<Vm.Status>();
            Assert.True(status.AgentConnected);
            Assert.Equal(agentInfo.Version, status.AgentVersion);
        });
    }

    [QgaAgentFact]
    public async Task VmActor_must_talk_to_our_qga_agent()
    {
        await using var agent = await QgaAgentProcess.StartAsync();
        var client = CreateTestProbe();
        var vm = Sys.ActorOf(Vm.Props(new VmConfig { Id = "ours", QgaSocket = agent.SocketPath }));
        vm.Tell(VmRequests.Create("ours", QgaCommands.GuestInfo, "info", client));
        var info = await client.ExpectMsgAsync<Vm.Executed>(TimeSpan.FromSeconds(10));
        Assert.True(info.TryGetResult(QgaCommands.GuestInfo, out _, out var problem), problem);
        for (int i = 0; i < 200; i++)
        {
            vm.Tell(TestSupport.Sync("ours", i, "s" + i, client));
            Assert.Equal(i, (await client.ExpectMsgAsync<Vm.Executed>()).Return!.Value.GetInt64());
        }
    }
}
