using QgaOrchestrator.Core.Inventory;
using QgaOrchestrator.Core.Sagas;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Host.Configuration;

/// <summary>
/// The validated settings of one qgaorchd, read from the <c>Orchestrator</c> section of appsettings.json
/// (then <c>QGAORCH_</c> environment variables, then <c>--Orchestrator:Key=value</c> arguments) and fleet.json.
/// </summary>
public sealed record OrchestratorOptions
{
    public const string Section = "Orchestrator";
    public const int DefaultPort = 7420;
    public static readonly string DefaultListen = $"http://127.0.0.1:{DefaultPort}";
    public const string DefaultStateDir = "/var/lib/qgaorch";

    /// <summary>Where the journal, the API token and the logs live.</summary>
    public required string StateDir { get; init; }

    /// <summary>Absolute path of the fleet file that was loaded.</summary>
    public required string FleetFile { get; init; }

    public required IReadOnlyList<VmConfig> Vms { get; init; }

    /// <summary>Kestrel URL; loopback by default.</summary>
    public required Uri Listen { get; init; }

    public required string TokenFile { get; init; }

    /// <summary>How long an HTTP request waits for an actor's answer before 504.</summary>
    public required TimeSpan AskTimeout { get; init; }

    public required SnapshotMode DefaultSnapshotMode { get; init; }

    public required TimeSpan DefaultDeadline { get; init; }

    /// <summary>The longest freeze the API accepts (stay under the agents' self-thaw deadline).</summary>
    public required TimeSpan MaxDeadline { get; init; }

    public required TimeSpan RequestTimeout { get; init; }

    /// <summary>Directory for QMP overlay files; null = qmp snapshots are not configured.</summary>
    public string? QmpOverlayDir { get; init; }

    public string? QmpOverlayTemplate { get; init; }

    /// <summary>The command snapshot template (null = command snapshots are not configured).</summary>
    public string? SnapshotCommand { get; init; }

    public bool SnapshotCommandPerVm { get; init; } = true;

    public TimeSpan SnapshotCommandTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>"sqlite" (file under StateDir) or "postgresql" (<see cref="JournalConnectionString"/>).</summary>
    public string JournalProvider { get; init; } = "sqlite";

    public string? JournalConnectionString { get; init; }

    /// <summary>Rolling log file path ("" = console only).</summary>
    public string LogFile { get; init; } = "";

    /// <summary>Discovery of libvirt and Proxmox VMs; null = off (only fleet.json VMs).</summary>
    public InventoryWatcher.Settings? Inventory { get; init; }
}
