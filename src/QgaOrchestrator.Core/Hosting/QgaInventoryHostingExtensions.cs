using Akka.Hosting;
using QgaOrchestrator.Core.Inventory;

namespace QgaOrchestrator.Core.Hosting;

/// <summary>ActorRegistry key of the <see cref="InventoryWatcher"/> (<c>/user/inventory</c>).</summary>
public sealed class InventoryWatcherKey
{
    private InventoryWatcherKey()
    {
    }
}

public static class QgaInventoryHostingExtensions
{
    /// <summary>
    /// Starts <c>/user/inventory</c>, which adds the libvirt and Proxmox VMs it discovers to the fleet registered
    /// by <see cref="QgaFleetHostingExtensions.WithQgaFleet(AkkaConfigurationBuilder, IReadOnlyList{Vms.VmConfig}, Vms.Vm.Settings?)"/>
    /// (call that first; pass the same fleet.json VMs as <see cref="InventoryWatcher.Settings.Configured"/>), and
    /// registers it under <see cref="InventoryWatcherKey"/>.
    /// </summary>
    public static AkkaConfigurationBuilder WithQgaInventory(this AkkaConfigurationBuilder builder, InventoryWatcher.Settings settings) =>
        builder.WithActors((system, registry) =>
        {
            var fleet = registry.Get<FleetManagerKey>();
            registry.Register<InventoryWatcherKey>(system.ActorOf(InventoryWatcher.Props(fleet, settings), InventoryWatcher.ActorName));
        });
}
