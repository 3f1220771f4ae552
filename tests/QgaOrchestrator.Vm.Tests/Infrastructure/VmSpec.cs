using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using QgaOrchestrator.Core.Channel;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol;
using Xunit.Abstractions;

namespace QgaOrchestrator.Vm.Tests.Infrastructure;

/// <summary>
/// Base of the real-VM specs: the Core actors (FleetManager → VM → guest/monitor channels) pointed at
/// the fixture's QEMU guests, with reconnects tuned for guests that are still booting.
/// </summary>
[Collection(RealVmCollection.Name)]
public abstract class VmSpec(VmFleetFixture fixture, ITestOutputHelper output, Config? config = null)
    : Akka.TestKit.Xunit2.TestKit((config ?? ConfigurationFactory.Empty).WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING")), null, output)
{
    /// <summary>A loaded TCG guest answers in well under this; a missing answer is a failure, not slowness.</summary>
    protected static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);

    protected VmFleetFixture Fixture { get; } = fixture;

    public static readonly Core.Vms.Vm.Settings VmSettings = Core.Vms.Vm.Settings.Default with
    {
        Guest = new GuestChannel.Settings
        {
            VmId = "",
            SocketPath = "",
            SyncTimeout = TimeSpan.FromSeconds(3),
            ReconnectMaxBackoff = TimeSpan.FromSeconds(1),
        },
        Monitor = new MonitorChannel.Settings { VmId = "", SocketPath = "", ReconnectMaxBackoff = TimeSpan.FromSeconds(1) },
    };

    protected async Task<QemuVm> BootedAsync(string role)
    {
        var vm = await Fixture.GetAsync(role);
        Output?.WriteLine($"{vm.Id}: pid {vm.Pid}, agent starting {vm.BootTime?.TotalSeconds:0.0} s after QEMU started");
        return vm;
    }

    /// <summary>A fleet of the given guests, returned once every agent has answered the sync handshake and QMP is up.</summary>
    protected async Task<IActorRef> FleetOfAsync(params QemuVm[] vms)
    {
        var fleet = Sys.ActorOf(FleetManager.Props(new FleetManager.Settings { Vms = vms.Select(v => v.Config).ToList(), Vm = VmSettings }), FleetManager.ActorName);
        foreach (var vm in vms) await AwaitConnectedAsync(fleet, vm.Id);
        return fleet;
    }

    protected async Task AwaitConnectedAsync(IActorRef fleet, string vmId)
    {
        var probe = CreateTestProbe();
        await AwaitAssertAsync(async () =>
        {
            fleet.Tell(new Core.Vms.Vm.GetStatus(vmId, probe));
            var status = await probe.ExpectMsgAsync<Core.Vms.Vm.Status>();
            Assert.True(status.AgentConnected && status.MonitorConnected && status.AgentVersion is not null,
                $"{vmId}: agent connected {status.AgentConnected}, version {status.AgentVersion}, monitor {status.MonitorConnected}, last error {status.LastError}");
        }, TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(250));
    }

    protected async Task<TResult> RunAsync<TArgs, TResult>(IActorRef fleet, string vmId, QgaCommand<TArgs, TResult> command, TArgs arguments, TimeSpan? timeout = null)
    {
        var probe = CreateTestProbe();
        fleet.Tell(VmRequests.Create(vmId, command, arguments, command.Name, probe, timeout));
        var executed = await probe.ExpectMsgAsync<Core.Vms.Vm.Executed>(timeout ?? ReplyTimeout);
        Assert.True(executed.TryGetResult(command, out var result, out var problem), $"{vmId} {command.Name}: {problem}");
        return result!;
    }

    protected Task<TResult> RunAsync<TResult>(IActorRef fleet, string vmId, QgaCommand<NoArguments, TResult> command, TimeSpan? timeout = null) =>
        RunAsync(fleet, vmId, command, NoArguments.Instance, timeout);

    protected async Task<JsonElement> QmpAsync(IActorRef fleet, string vmId, string command, string? arguments = null)
    {
        var probe = CreateTestProbe();
        var args = arguments is null ? (JsonElement?)null : JsonDocument.Parse(arguments).RootElement.Clone();
        fleet.Tell(new Core.Vms.Vm.ExecuteQmp(vmId, command, args, command, probe));
        var r = await probe.ExpectMsgAsync<Core.Vms.Vm.QmpExecuted>(ReplyTimeout);
        Assert.True(r.Succeeded, $"{vmId} QMP {command}: {r.Error?.ToString() ?? r.Failure?.Reason}");
        return r.Return!.Value;
    }
}
