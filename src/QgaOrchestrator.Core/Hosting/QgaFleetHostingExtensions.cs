using Akka.Hosting;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Core.Hosting;

/// <summary>ActorRegistry key of this node's <see cref="FleetManager"/> (<c>IRequiredActor&lt;FleetManagerKey&gt;</c>).</summary>
public sealed class FleetManagerKey
{
    private FleetManagerKey()
    {
    }
}

public static class QgaFleetHostingExtensions
{
    /// <summary>
    /// Starts <c>/user/fleet</c> with the VMs of <paramref name="fleetFile"/> (validated by
    /// <see cref="FleetConfig.Load"/>; a bad file fails startup with a message naming the entry) and
    /// registers it under <see cref="FleetManagerKey"/>.
    /// </summary>
    public static AkkaConfigurationBuilder WithQgaFleet(this AkkaConfigurationBuilder builder, string fleetFile, Vm.Settings? vmSettings = null)
    {
        var vms = FleetConfig.Load(fleetFile);
        return builder.WithQgaFleet(vms, vmSettings);
    }

    public static AkkaConfigurationBuilder WithQgaFleet(this AkkaConfigurationBuilder builder, IReadOnlyList<VmConfig> vms, Vm.Settings? vmSettings = null) =>
        builder.WithActors((system, registry) =>
        {
            var settings = new FleetManager.Settings { Vms = vms, Vm = vmSettings ?? Vm.Settings.Default };
            var fleet = system.ActorOf(FleetManager.Props(settings), FleetManager.ActorName);
            registry.Register<FleetManagerKey>(fleet);
        });
}
