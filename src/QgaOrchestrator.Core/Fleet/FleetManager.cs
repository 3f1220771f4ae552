using Akka.Actor;
using QgaOrchestrator.Core.Fleet.Internal;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Core.Fleet;

/// <summary>
/// The protocol of this node's fleet manager (<c>/user/fleet</c>). Any <see cref="Vm.IVmMessage"/>
/// sent to it is forwarded to that VM's actor; for an unknown VM the sender's ReplyTo gets
/// <see cref="UnknownVm"/>.
/// </summary>
public static class FleetManager
{
    public sealed record AddVm(VmConfig Config, IActorRef? ReplyTo = null);

    public sealed record VmAdded(string VmId);

    public sealed record RemoveVm(string VmId, IActorRef? ReplyTo = null);

    public sealed record VmRemoved(string VmId);

    /// <summary>The reply to a request for a VM this node does not manage (or to adding a duplicate id).</summary>
    public sealed record UnknownVm(string VmId, string? RequestId, string Reason);

    public sealed record GetFleetStatus(IActorRef ReplyTo);

    public sealed record FleetStatus(IReadOnlyList<Vm.Status> Vms);

    /// <summary>The configured VMs, without asking each VM actor.</summary>
    public sealed record GetConfigs(IActorRef ReplyTo);

    public sealed record Configs(IReadOnlyList<VmConfig> Vms);

    public sealed record Settings
    {
        /// <summary>The VMs started with the manager (usually from <see cref="FleetConfig.Load"/>).</summary>
        public IReadOnlyList<VmConfig> Vms { get; init; } = [];

        public Vm.Settings Vm { get; init; } = QgaOrchestrator.Core.Vms.Vm.Settings.Default;

        /// <summary>How long a fleet status query waits for each VM actor.</summary>
        public TimeSpan StatusTimeout { get; init; } = TimeSpan.FromSeconds(2);

        /// <summary>A VM actor stopped by supervision is started again after this.</summary>
        public TimeSpan RestartVmAfter { get; init; } = TimeSpan.FromSeconds(30);
    }

    /// <summary>The actor name the hosting extension uses: <c>/user/fleet</c>.</summary>
    public const string ActorName = "fleet";

    public static Props Props(Settings settings) =>
        Akka.Actor.Props.Create(() => new FleetManagerActor(settings));

    /// <summary>The child name of a VM actor: <c>vm-{id}</c>.</summary>
    public static string VmActorName(string vmId) => "vm-" + vmId;
}
