using Akka.Actor;
using QgaOrchestrator.Core.Inventory.Internal;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Core.Inventory;

/// <summary>
/// The protocol of this node's inventory watcher (<c>/user/inventory</c>): it keeps the fleet in step with
/// the VMs <see cref="InventoryDiscovery"/> finds, adding those that appear and removing those that vanish
/// (only the ones it added: fleet.json VMs are never removed). It rescans on start, on file system events
/// under the roots (debounced) and periodically, because inotify drops events and roots may appear later.
/// </summary>
public static class InventoryWatcher
{
    public const string ActorName = "inventory";

    /// <summary>Asks for a rescan now (debounced like a file system event).</summary>
    public sealed record Rescan(string Reason);

    /// <summary>Asks for the VMs the watcher has added to the fleet; answered with <see cref="Inventory"/>.</summary>
    public sealed record GetInventory(IActorRef ReplyTo);

    /// <param name="Vms">The discovered VMs now in the fleet, by id.</param>
    /// <param name="Scans">How many scans have completed (a debounced burst counts once).</param>
    public sealed record Inventory(IReadOnlyList<VmConfig> Vms, long Scans);

    public sealed record Settings
    {
        public InventoryDiscovery.Settings Discovery { get; init; } = InventoryDiscovery.Settings.Default;

        /// <summary>The fleet.json VMs: they win over a discovered VM on the same socket and are never removed.</summary>
        public IReadOnlyList<VmConfig> Configured { get; init; } = [];

        /// <summary>Watch the roots with inotify; when false only the periodic rescan notices changes.</summary>
        public bool WatchDirectories { get; init; } = true;

        /// <summary>A burst of file system events within this time costs one scan.</summary>
        public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(250);

        /// <summary>The safety rescan: catches dropped inotify events and roots created later.</summary>
        public TimeSpan RescanInterval { get; init; } = TimeSpan.FromSeconds(30);
    }

    /// <param name="fleet">The FleetManager (or anything speaking its AddVm/RemoveVm protocol).</param>
    public static Props Props(IActorRef fleet, Settings settings) =>
        Akka.Actor.Props.Create(() => new InventoryWatcherActor(fleet, settings));
}
