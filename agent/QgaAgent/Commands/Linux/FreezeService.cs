using QgaAgent.Dispatch;
using QgaAgent.Platform;
using QgaAgent.Runtime;
using QgaOrchestrator.Protocol.Qga;

namespace QgaAgent.Commands.Linux;

/// <summary>
/// guest-fsfreeze-* and guest-fstrim as commands-posix.c does them, plus two safety additions:
/// an optional allowed mount-point list that freeze, thaw and trim never step outside, and a
/// self-thaw deadline that thaws a frozen agent nobody thawed.
/// <code>
/// thawed --freeze (hook ok, ≥1 fs frozen)--> frozen --thaw / deadline / SIGTERM--> thawed
///          (hook fails: stay thawed; 0 frozen: stay thawed; freeze error: roll back via thaw)
/// </code>
/// </summary>
internal sealed class FreezeService : IDisposable
{
    private readonly IFsFreezer _fs;
    private readonly AgentOptions _options;
    private readonly AgentState _state;
    private readonly AgentLog _log;
    private readonly FreezeGate _gate;
    private readonly object _sync;
    private Timer? _deadline;
    private long _generation;

    public FreezeService(IFsFreezer fs, AgentOptions options, AgentState state, AgentLog log, FreezeGate gate, object sync)
    {
        _fs = fs;
        _options = options;
        _state = state;
        _log = log;
        _gate = gate;
        _sync = sync;
    }

    /// <summary>Called after every transition to thawed (the runtime writes a deferred pid file).</summary>
    public event Action? Thawed;

    public bool IsFrozen => _gate.Frozen;

    public void Register(CommandRegistry registry)
    {
        registry.Register(QgaCommands.GuestFsfreezeStatus, _ => IsFrozen ? GuestFsfreezeStatus.Frozen : GuestFsfreezeStatus.Thawed);
        registry.Register(QgaCommands.GuestFsfreezeFreeze, _ => Freeze(null));
        registry.Register(QgaCommands.GuestFsfreezeFreezeList, a => Freeze(a.Mountpoints));
        registry.Register(QgaCommands.GuestFsfreezeThaw, _ => Thaw());
        registry.Register(QgaCommands.GuestFstrim, a => Trim(a.Minimum));
    }

    /// <summary>At start-up: a marker left by a previous instance means we start frozen (qemu-ga's check_is_frozen).</summary>
    public void RestoreFromMarker()
    {
        if (!_state.MarkerExists) return;
        // Straight to stderr: the log file is deferred until thaw, like qemu-ga's.
        Console.Error.WriteLine("warning: previous instance appears to have exited with frozen filesystems. deferring logging/pidfile creation and disabling non-fsfreeze-safe commands until guest-fsfreeze-thaw is issued, or filesystems are manually unfrozen and the file " + _state.FrozenMarker + " is removed");
        _gate.Frozen = true;
        _log.Suspend();
        ArmDeadline();
    }

    private bool Selected(FsMount m) => _options.FsfreezeMountpoints is not { } allowed || allowed.Contains(m.Dir, StringComparer.Ordinal);

    public long Freeze(IReadOnlyList<string>? mountpoints)
    {
        RunHook("freeze");
        var mounts = _fs.Mounts();
        // Frozen before any ioctl: the agent must not block itself on a write to a frozen fs.
        SetFrozen();
        long frozen = 0;
        for (int i = mounts.Count - 1; i >= 0; i--)
        {
            var m = mounts[i];
            if (!Selected(m)) continue;
            if (mountpoints is not null && !mountpoints.Contains(m.Dir, StringComparer.Ordinal)) continue;
            int e = _fs.Freeze(m.Dir, out bool openFailed);
            if (e == 0) { frozen++; continue; }
            if (openFailed)
            {
                Rollback();
                throw new CommandFailedException($"failed to open {m.Dir}: {Libc.StrError(e)}");
            }
            // EOPNOTSUPP: fs without freeze support; EBUSY: already frozen (or a bind mount of a frozen fs).
            if (e is Libc.EOPNOTSUPP or Libc.EBUSY) continue;
            Rollback();
            throw new CommandFailedException($"failed to freeze {m.Dir}: {Libc.StrError(e)}");
        }
        if (frozen == 0) UnsetFrozen();
        return frozen;
    }

    private void Rollback()
    {
        try { Thaw(); }
        catch (CommandFailedException e) { _log.Error($"rollback after failed freeze: {e.Message}"); }
    }

    public long Thaw()
    {
        long thawed = ThawFilesystems();
        UnsetFrozen();
        RunHook("thaw");
        return thawed;
    }

    private long ThawFilesystems()
    {
        IReadOnlyList<FsMount> mounts;
        try { mounts = _fs.Mounts(); }
        catch (IOException) { return 0; }
        long count = 0;
        foreach (var m in mounts)
        {
            if (!Selected(m)) continue;
            // Several FIFREEZEs need as many FITHAWs: repeat until the fs says it is not frozen.
            bool counted = false;
            for (int guard = 0; guard < 1 << 16; guard++)
            {
                if (_fs.ThawOnce(m.Dir, out _) != 0) break;
                if (!counted) { count++; counted = true; }
            }
        }
        return count;
    }

    public GuestFilesystemTrimResponse Trim(long? minimum)
    {
        var results = new List<GuestFilesystemTrimResult>();
        foreach (var m in _fs.Mounts())
        {
            if (!Selected(m)) continue;
            int e = _fs.Trim(m.Dir, minimum is { } min ? (ulong)min : 0, out ulong trimmed, out bool openFailed);
            GuestFilesystemTrimResult r;
            if (openFailed) r = new GuestFilesystemTrimResult { Path = m.Dir, Error = $"failed to open: {Libc.StrError(e)}" };
            else if (e is Libc.ENOTTY or Libc.EOPNOTSUPP) r = new GuestFilesystemTrimResult { Path = m.Dir, Error = "trim not supported" };
            else if (e != 0) r = new GuestFilesystemTrimResult { Path = m.Dir, Error = $"failed to trim: {Libc.StrError(e)}" };
            else r = new GuestFilesystemTrimResult { Path = m.Dir, Trimmed = (long)trimmed, Minimum = minimum ?? 0 };
            // qemu-ga prepends each result, so the reply lists mounts in reverse order.
            results.Insert(0, r);
        }
        return new GuestFilesystemTrimResponse { Paths = results };
    }

    private void SetFrozen()
    {
        if (IsFrozen) return;
        _log.Warning("disabling logging due to filesystem freeze");
        _gate.Frozen = true;
        _state.CreateMarker();
        _log.Suspend();
        ArmDeadline();
    }

    private void UnsetFrozen()
    {
        if (!IsFrozen) return;
        Interlocked.Increment(ref _generation);
        _deadline?.Dispose();
        _deadline = null;
        _log.Resume();
        _log.Info("logging re-enabled due to filesystem unfreeze");
        _state.DeleteMarker();
        _gate.Frozen = false;
        Thawed?.Invoke();
    }

    private void ArmDeadline()
    {
        if (_options.FreezeTimeoutSeconds <= 0) return;
        long generation = Interlocked.Increment(ref _generation);
        _deadline?.Dispose();
        _deadline = new Timer(_ => SelfThaw(generation), null, TimeSpan.FromSeconds(_options.FreezeTimeoutSeconds), Timeout.InfiniteTimeSpan);
    }

    private void SelfThaw(long generation)
    {
        lock (_sync)
        {
            if (!IsFrozen || Interlocked.Read(ref _generation) != generation) return;
            long n = ThawFilesystems();
            UnsetFrozen();
            // Logged only now: logging is off while frozen.
            _log.Warning($"self-thaw: no guest-fsfreeze-thaw within {_options.FreezeTimeoutSeconds} s, thawed {n} filesystem(s)");
            try { RunHook("thaw"); }
            catch (CommandFailedException e) { _log.Error($"self-thaw: {e.Message}"); }
        }
    }

    /// <summary>SIGTERM while frozen: thaw first (qemu-ga would refuse to exit; leaving filesystems frozen is worse).</summary>
    public void ThawForExit()
    {
        if (!IsFrozen) return;
        long n = ThawFilesystems();
        UnsetFrozen();
        _log.Warning($"terminating while frozen: thawed {n} filesystem(s) first");
        try { RunHook("thaw"); }
        catch (CommandFailedException e) { _log.Error(e.Message); }
    }

    private void RunHook(string arg)
    {
        if (_options.FsfreezeHook is not { } hook) return;
        const int X_OK = 1;
        if (Libc.access(hook, X_OK) != 0)
            throw new CommandFailedException($"can't access fsfreeze hook '{hook}': {Libc.StrError(Libc.Errno)}");
        _log.Info($"executing fsfreeze hook with arg '{arg}'");
        var status = ExternalCommand.Run(hook, arg);
        if (status is null) throw new CommandFailedException("fsfreeze hook has terminated abnormally");
        if (status != 0) throw new CommandFailedException($"fsfreeze hook has failed with status {status}");
    }

    public void Dispose() => _deadline?.Dispose();
}
