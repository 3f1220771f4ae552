using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Hosting;
using QgaOrchestrator.Core.Inventory;
using QgaOrchestrator.Core.Sagas;
using QgaOrchestrator.Core.Snapshots;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Host.Configuration;

/// <summary>
/// Turns configuration into <see cref="OrchestratorOptions"/> or refuses with a
/// <see cref="ConfigProblemException"/> naming the file, line and field: the service must not start on a
/// setting it would only discover to be wrong in the middle of a freeze.
/// </summary>
public sealed partial class ConfigLoader(IConfiguration configuration, string configDir)
{
    /// <summary>A unix socket path must fit sockaddr_un.sun_path (108 bytes with the NUL).</summary>
    public const int MaxSocketPathBytes = 107;

    private string AppSettingsFile => Path.Combine(configDir, "appsettings.json");

    public OrchestratorOptions Load()
    {
        var stateDir = Path.GetFullPath(Str("StateDir") ?? OrchestratorOptions.DefaultStateDir);
        var fleetFile = Path.GetFullPath(Str("FleetFile") ?? "fleet.json", configDir);
        var listen = ParseListen();
        var askTimeout = Duration("Api:AskTimeout", TimeSpan.FromSeconds(15));
        var defaultDeadline = Duration("Sagas:DefaultDeadline", TimeSpan.FromSeconds(30));
        var maxDeadline = Duration("Sagas:MaxDeadline", TimeSpan.FromMinutes(5));
        if (defaultDeadline > maxDeadline)
            throw Problem("Sagas:DefaultDeadline", $"{DurationText.Format(defaultDeadline)} is longer than Sagas:MaxDeadline ({DurationText.Format(maxDeadline)})");
        var mode = ParseMode(Str("Snapshot:DefaultMode") ?? "qmp", "Snapshot:DefaultMode")
            ?? throw Problem("Snapshot:DefaultMode", $"unknown snapshot mode '{Str("Snapshot:DefaultMode")}' (expected qmp, command or external)");
        var command = Str("Snapshot:Command");
        if (command is not null)
        {
            try
            {
                CommandSnapshotProvider.SplitArgv(command);
            }
            catch (FormatException e)
            {
                throw Problem("Snapshot:Command", e.Message);
            }
        }
        else if (mode == SnapshotMode.Command)
            throw Problem("Snapshot:DefaultMode", "mode 'command' needs Orchestrator:Snapshot:Command (the snapshot command template)");
        var journal = (Str("Journal:Provider") ?? "sqlite").ToLowerInvariant();
        if (journal is not ("sqlite" or "postgresql"))
            throw Problem("Journal:Provider", $"unknown journal provider '{journal}' (expected sqlite or postgresql)");
        var connection = Str("Journal:ConnectionString");
        if (journal == "postgresql" && connection is null)
            throw Problem("Journal:ConnectionString", "the postgresql journal needs a connection string");

        var vms = LoadFleet(fleetFile);
        return new OrchestratorOptions
        {
            StateDir = stateDir,
            FleetFile = fleetFile,
            Vms = vms,
            Inventory = LoadInventory(vms),
            Listen = listen,
            TokenFile = Path.GetFullPath(Str("Api:TokenFile") ?? Path.Combine(stateDir, "api-token")),
            AskTimeout = askTimeout,
            DefaultSnapshotMode = mode,
            DefaultDeadline = defaultDeadline,
            MaxDeadline = maxDeadline,
            RequestTimeout = Duration("Sagas:RequestTimeout", TimeSpan.FromSeconds(10)),
            QmpOverlayDir = Path.GetFullPath(Str("Snapshot:QmpOverlayDir") ?? Path.Combine(stateDir, "overlays")),
            QmpOverlayTemplate = Str("Snapshot:QmpOverlayTemplate"),
            SnapshotCommand = command,
            SnapshotCommandPerVm = Bool("Snapshot:CommandPerVm", true),
            SnapshotCommandTimeout = Duration("Snapshot:CommandTimeout", TimeSpan.FromMinutes(1)),
            JournalProvider = journal,
            JournalConnectionString = connection,
            LogFile = configuration[OrchestratorOptions.Section + ":Logging:File"] switch
            {
                null => Path.Combine(stateDir, "logs", "qgaorchd-.log"),
                var f when string.IsNullOrWhiteSpace(f) => "", // console only
                var f => Path.GetFullPath(f.Trim(), stateDir),
            },
        };
    }

    /// <summary>qmp, command or external (case-insensitive); null for anything else.</summary>
    public static SnapshotMode? ParseMode(string text, string field) => text.ToLowerInvariant() switch
    {
        "qmp" => SnapshotMode.Qmp,
        "command" => SnapshotMode.Command,
        "external" => SnapshotMode.External,
        _ => null,
    };

    private Uri ParseListen()
    {
        var text = Str("Listen") ?? OrchestratorOptions.DefaultListen;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.AbsolutePath != "/")
            throw Problem("Listen", $"'{text}' is not an http://ADDRESS:PORT URL (TLS is left to a reverse proxy)");
        return uri;
    }

    private IReadOnlyList<VmConfig> LoadFleet(string fleetFile)
    {
        if (!File.Exists(fleetFile)) throw Problem("FleetFile", $"the fleet file {fleetFile} does not exist");
        IReadOnlyList<VmConfig> vms;
        try
        {
            vms = FleetConfig.Load(fleetFile);
        }
        catch (FleetConfigException e)
        {
            var m = EntryIndex().Match(e.Message);
            if (!m.Success) throw new ConfigProblemException(e.Message);
            var line = JsonLineLocator.Find(fleetFile, ["vms", m.Groups[1].Value]);
            var rest = e.Message.StartsWith(fleetFile + ": ", StringComparison.Ordinal) ? e.Message[(fleetFile.Length + 2)..] : e.Message;
            throw new ConfigProblemException(line is { } l ? $"{fleetFile}:{l}: {rest}" : e.Message);
        }
        for (int i = 0; i < vms.Count; i++)
        {
            CheckSocket(fleetFile, i, vms[i], "qgaSocket", vms[i].QgaSocket);
            if (vms[i].QmpSocket is { } qmp) CheckSocket(fleetFile, i, vms[i], "qmpSocket", qmp);
        }
        return vms;
    }

    /// <summary>Orchestrator:Inventory: off unless Discover is true; roots must be absolute directories (a missing one is watched once it appears).</summary>
    private InventoryWatcher.Settings? LoadInventory(IReadOnlyList<VmConfig> vms)
    {
        if (!Bool("Inventory:Discover", false)) return null;
        var libvirt = Root("Inventory:LibvirtRoot", "/var/lib/libvirt/qemu", "channel/target/domain-1-x/org.qemu.guest_agent.0");
        var proxmox = Root("Inventory:ProxmoxRoot", "/var/run/qemu-server", "100.qga");
        return new InventoryWatcher.Settings
        {
            Discovery = new InventoryDiscovery.Settings
            {
                Libvirt = Bool("Inventory:Libvirt", true),
                Proxmox = Bool("Inventory:Proxmox", true),
                LibvirtDomainRoot = libvirt,
                LibvirtChannelRoot = Path.Combine(libvirt, "channel", "target"),
                ProxmoxRoot = proxmox,
            },
            Configured = vms,
            WatchDirectories = Bool("Inventory:WatchDirectories", true),
            RescanInterval = Duration("Inventory:RescanInterval", TimeSpan.FromSeconds(30)),
            Debounce = Duration("Inventory:Debounce", TimeSpan.FromMilliseconds(250)),
        };
    }

    /// <param name="shortest">The shortest socket path discovery would use under the root: it must fit sun_path.</param>
    private string Root(string key, string fallback, string shortest)
    {
        var path = Str(key) ?? fallback;
        if (!Path.IsPathFullyQualified(path)) throw Problem(key, $"'{path}' is not an absolute path");
        if (path.Contains('\0', StringComparison.Ordinal)) throw Problem(key, "the path holds a NUL byte");
        if (File.Exists(path)) throw Problem(key, $"'{path}' is a file, not a directory");
        if (Encoding.UTF8.GetByteCount(Path.Combine(path, shortest)) > MaxSocketPathBytes)
            throw Problem(key, $"'{path}' is too long: the sockets under it would not fit the {MaxSocketPathBytes} bytes of a unix socket path");
        return Path.GetFullPath(path);
    }

    private static void CheckSocket(string file, int index, VmConfig vm, string field, string path)
    {
        string? problem = null;
        if (!Path.IsPathFullyQualified(path)) problem = $"'{path}' is not an absolute path";
        else if (path.Contains('\0', StringComparison.Ordinal)) problem = "the path holds a NUL byte";
        else if (Encoding.UTF8.GetByteCount(path) > MaxSocketPathBytes) problem = $"'{path}' is longer than the {MaxSocketPathBytes} bytes a unix socket path may have";
        else if (Directory.Exists(path)) problem = $"'{path}' is a directory, not a socket";
        if (problem is not null)
            throw new ConfigProblemException(JsonLineLocator.Describe(file, ["vms", index.ToString(System.Globalization.CultureInfo.InvariantCulture), field],
                $"vms[{index}] (id '{vm.Id}').{field}", problem));
    }

    private string? Str(string key)
    {
        var v = configuration[OrchestratorOptions.Section + ":" + key];
        return string.IsNullOrWhiteSpace(v) ? null : v.Trim();
    }

    private bool Bool(string key, bool fallback)
    {
        var v = Str(key);
        if (v is null) return fallback;
        return bool.TryParse(v, out var b) ? b : throw Problem(key, $"'{v}' is not true or false");
    }

    private TimeSpan Duration(string key, TimeSpan fallback)
    {
        var v = Str(key);
        if (v is null) return fallback;
        if (!DurationText.TryParse(v, out var t) || t <= TimeSpan.Zero)
            throw Problem(key, $"'{v}' is not a positive duration (e.g. 30s, 500ms, 2m)");
        return t;
    }

    /// <summary>Names the file and line where the key is set in appsettings.json, else says it came from the environment or command line.</summary>
    private ConfigProblemException Problem(string key, string problem)
    {
        var field = OrchestratorOptions.Section + ":" + key;
        var path = field.Split(':');
        if (JsonLineLocator.Find(AppSettingsFile, path) is { } line && LocatesKey(path))
            return new ConfigProblemException($"{AppSettingsFile}:{line}: {field}: {problem}");
        return new ConfigProblemException($"{field} (environment or command line): {problem}");
    }

    /// <summary>True when the value in force comes from appsettings.json (not overridden by the environment or command line).</summary>
    private bool LocatesKey(string[] path)
    {
        if (!File.Exists(AppSettingsFile)) return false;
        var key = string.Join(':', path);
        var fileOnly = new ConfigurationBuilder().AddJsonFile(AppSettingsFile, optional: true).Build();
        return fileOnly[key] is { } inFile && inFile == configuration[key];
    }

    [GeneratedRegex(@"vms\[(\d+)\]")]
    private static partial Regex EntryIndex();
}
