using Akka.Actor;
using Akka.Event;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Vms;
using static QgaOrchestrator.Core.Inventory.InventoryWatcher;
using Settings = QgaOrchestrator.Core.Inventory.InventoryWatcher.Settings;

namespace QgaOrchestrator.Core.Inventory.Internal;

/// <summary>
/// INTERNAL API. Keeps the fleet in step with what <see cref="InventoryDiscovery"/> finds.
/// <code>
///            ┌──── fs event / Rescan: debounce timer (once per burst) ────┐
///            v                                                              │
///   ──> Idle ──debounce elapsed / periodic tick──> Scanning ──Scanned──> Idle (diff → AddVm / RemoveVm)
///                                                     │ fs event / tick: dirty (one more scan after this one)
///   (restarted: Adopting ──Configs──> Scanning: the discovered VMs already in the fleet are ours again)
/// </code>
/// The scan (directory listing, stat) runs on the thread pool and is piped back; file system watchers only
/// Tell. A VM whose socket was re-created between two scans (VM restarted) is removed and added again, so it
/// reconnects at once instead of after the channel's reconnect backoff (up to 30 s).
/// </summary>
internal sealed class InventoryWatcherActor : UntypedActor, IWithTimers
{
    private const string DebounceTimer = "debounce";
    private const string RescanTimer = "rescan";

    /// <summary>One discovered VM and its sockets' identity (mtime: a new socket file after a VM restart).</summary>
    private sealed record Found(VmConfig Config, string Stamp);
    private sealed record Scanned(IReadOnlyList<Found> Vms, IReadOnlyList<string> Conflicts);
    private sealed record ScanFailed(Exception Error);
    private sealed record FsEvent(string Path);
    private sealed record WatcherFailed(string Root, Exception Error);
    private sealed class DebounceElapsed
    {
        public static readonly DebounceElapsed Instance = new();
    }
    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed class Tracked(VmConfig config, string stamp)
    {
        public VmConfig Config { get; set; } = config;
        public string Stamp { get; set; } = stamp;
        public bool Refused { get; set; }
    }

    private readonly IActorRef _fleet;
    private readonly Settings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, Tracked> _vms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FileSystemWatcher> _watchers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unwatchable = new(StringComparer.Ordinal);
    private IReadOnlyList<string> _conflicts = [];
    private bool _dirty;
    private long _scans;

    public InventoryWatcherActor(IActorRef fleet, Settings settings)
    {
        _fleet = fleet;
        _settings = settings;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer(RescanTimer, Tick.Instance, _settings.RescanInterval);
        StartScan();
    }

    protected override void PostRestart(Exception reason)
    {
        // The fleet still holds the VMs this actor added before it failed: ask which ones before diffing.
        Timers.StartPeriodicTimer(RescanTimer, Tick.Instance, _settings.RescanInterval);
        _fleet.Tell(new FleetManager.GetConfigs(Self));
        Become(Adopting);
    }

    protected override void PostStop()
    {
        foreach (var w in _watchers.Values) w.Dispose();
        _watchers.Clear();
    }

    protected override void OnReceive(object message) => Idle(message);

    private void Idle(object message)
    {
        switch (message)
        {
            case FsEvent or Rescan:
                if (!Timers.IsTimerActive(DebounceTimer)) Timers.StartSingleTimer(DebounceTimer, DebounceElapsed.Instance, _settings.Debounce);
                break;
            case DebounceElapsed or Tick:
                StartScan();
                break;
            default:
                Common(message);
                break;
        }
    }

    private void Scanning(object message)
    {
        switch (message)
        {
            case FsEvent or Rescan or Tick:
                _dirty = true;
                break;
            case DebounceElapsed:
                break; // this scan already covers it
            case Scanned s:
                _scans++;
                Apply(s);
                Become(Idle);
                if (_dirty) Self.Tell(new Rescan("changes during the last scan"));
                break;
            case ScanFailed f:
                _scans++;
                _log.Warning(f.Error, "Inventory scan failed; retrying at the next event or rescan");
                Become(Idle);
                if (_dirty) Self.Tell(new Rescan("changes during the last scan"));
                break;
            default:
                Common(message);
                break;
        }
    }

    private void Adopting(object message)
    {
        switch (message)
        {
            case FleetManager.Configs c:
                foreach (var v in c.Vms.Where(v => v.Source != VmSource.Fleet)) _vms[v.Id] = new Tracked(v, "");
                StartScan(); // an empty stamp differs from any real one: adopted VMs are re-added once with fresh sockets
                break;
            case FsEvent or Rescan or Tick or DebounceElapsed:
                break; // the scan after adoption covers it
            default:
                Common(message);
                break;
        }
    }

    private void Common(object message)
    {
        switch (message)
        {
            case WatcherFailed w:
                _log.Warning(w.Error, "Watching {Root} failed; watching it again at the next scan", w.Root);
                if (_watchers.Remove(w.Root, out var failed)) failed.Dispose();
                Self.Tell(new Rescan("watcher error"));
                break;
            case FleetManager.VmAdded a:
                if (_vms.TryGetValue(a.VmId, out var added)) added.Refused = false;
                break;
            case FleetManager.UnknownVm u when _vms.TryGetValue(u.VmId, out var refused) && !refused.Refused:
                // An AddVm refused (an id the fleet rejects, or one it already has): not retried until its socket changes.
                refused.Refused = true;
                _log.Warning("{VmId} discovered but refused by the fleet: {Reason}", u.VmId, u.Reason);
                break;
            case FleetManager.UnknownVm or FleetManager.VmRemoved:
                break;
            case GetInventory q:
                q.ReplyTo.Tell(new InventoryWatcher.Inventory(
                    _vms.Values.Where(v => !v.Refused).Select(v => v.Config).OrderBy(v => v.Id, StringComparer.Ordinal).ToList(), _scans));
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void StartScan()
    {
        _dirty = false;
        Timers.Cancel(DebounceTimer);
        if (_settings.WatchDirectories) EnsureWatchers();
        var discovery = _settings.Discovery;
        var configured = _settings.Configured;
        Task.Run(() => Scan(discovery, configured)).PipeTo(Self, failure: e => new ScanFailed(e));
        Become(Scanning);
    }

    private static Scanned Scan(InventoryDiscovery.Settings discovery, IReadOnlyList<VmConfig> configured)
    {
        var result = InventoryDiscovery.Discover(discovery, configured);
        var found = result.Vms.Where(v => v.Source != VmSource.Fleet)
            .Select(v => new Found(v, Stamp(v.QgaSocket) + "|" + (v.QmpSocket is { } q ? Stamp(q) : "-"))).ToList();
        return new Scanned(found, result.Conflicts);
    }

    private static string Stamp(string path)
    {
        try
        {
            return File.GetLastWriteTimeUtc(path).Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "?";
        }
    }

    private void Apply(Scanned s)
    {
        if (!s.Conflicts.SequenceEqual(_conflicts))
        {
            foreach (var c in s.Conflicts.Except(_conflicts)) _log.Warning("Inventory conflict: {Conflict}", c);
            _conflicts = s.Conflicts;
        }
        var now = s.Vms.ToDictionary(f => f.Config.Id, StringComparer.Ordinal);
        foreach (var (id, t) in _vms.Where(kv => !now.ContainsKey(kv.Key)).ToList())
        {
            _vms.Remove(id);
            if (t.Refused) continue;
            _log.Info("{VmId} disappeared ({Source} socket {QgaSocket} gone); removing it from the fleet", id, t.Config.Source, t.Config.QgaSocket);
            _fleet.Tell(new FleetManager.RemoveVm(id, Self));
        }
        foreach (var f in s.Vms)
        {
            var id = f.Config.Id;
            if (!_vms.TryGetValue(id, out var t))
            {
                _log.Info("{VmId} appeared ({Source}: qga {QgaSocket}, qmp {QmpSocket}); adding it to the fleet",
                    id, f.Config.Source, f.Config.QgaSocket, f.Config.QmpSocket ?? "none");
                _vms[id] = new Tracked(f.Config, f.Stamp);
                _fleet.Tell(new FleetManager.AddVm(f.Config, Self));
                continue;
            }
            if (SameSockets(t.Config, f.Config) && t.Stamp == f.Stamp) continue;
            // Re-created sockets (the VM restarted) or a monitor socket that appeared late: start the VM actor afresh.
            if (!t.Refused)
            {
                _log.Info("{VmId} sockets changed (VM restarted or its monitor appeared); re-adding it", id);
                _fleet.Tell(new FleetManager.RemoveVm(id, Self));
            }
            t.Config = f.Config;
            t.Stamp = f.Stamp;
            t.Refused = false;
            _fleet.Tell(new FleetManager.AddVm(f.Config, Self)); // the fleet queues it until the old actor stopped
        }
    }

    // Not record equality: Disks and Labels are fresh collections on every scan.
    private static bool SameSockets(VmConfig a, VmConfig b) =>
        a.QgaSocket == b.QgaSocket && a.QmpSocket == b.QmpSocket && a.Source == b.Source;

    /// <summary>Watches every root that exists now (a missing one is tried again at each scan).</summary>
    private void EnsureWatchers()
    {
        foreach (var (root, w) in _watchers.Where(kv => !Directory.Exists(kv.Key)).ToList())
        {
            w.Dispose();
            _watchers.Remove(root);
        }
        foreach (var (root, recursive) in Roots())
        {
            if (_watchers.ContainsKey(root) || !Directory.Exists(root)) continue;
            var self = Self;
            try
            {
                var w = new FileSystemWatcher(root)
                {
                    IncludeSubdirectories = recursive,
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName,
                };
                w.Created += (_, e) => self.Tell(new FsEvent(e.FullPath));
                w.Deleted += (_, e) => self.Tell(new FsEvent(e.FullPath));
                w.Renamed += (_, e) => self.Tell(new FsEvent(e.FullPath));
                w.Error += (_, e) => self.Tell(new WatcherFailed(root, e.GetException()));
                w.EnableRaisingEvents = true;
                _watchers[root] = w;
                _unwatchable.Remove(root);
                _log.Debug("Watching {Root} for VMs", root);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                // e.g. the inotify instance limit: the periodic rescan still notices changes.
                if (_unwatchable.Add(root)) _log.Warning("Cannot watch {Root} ({Error}); relying on the periodic rescan", root, e.Message);
            }
        }
    }

    /// <summary>The directories to watch: libvirt's trees recursively (domain-* dirs come and go), Proxmox's flat.</summary>
    private IEnumerable<(string Root, bool Recursive)> Roots()
    {
        var d = _settings.Discovery;
        var recursive = new List<string>();
        if (d.Libvirt)
            foreach (var r in new[] { d.LibvirtDomainRoot, d.LibvirtChannelRoot }.Select(Path.GetFullPath).Distinct(StringComparer.Ordinal))
                if (!recursive.Any(p => Under(r, p))) recursive.Add(r);
        foreach (var r in recursive) yield return (r, true);
        if (d.Proxmox && Path.GetFullPath(d.ProxmoxRoot) is var pve && !recursive.Any(p => Under(pve, p))) yield return (pve, false);
    }

    private static bool Under(string path, string root) =>
        path == root || path.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal);
}
