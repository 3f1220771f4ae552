using System.Net.Sockets;
using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using QgaOrchestrator.Core.Channel;
using QgaOrchestrator.Protocol;
using QgaOrchestrator.Protocol.Qga;
using QgaOrchestrator.Protocol.Qmp;

namespace QgaOrchestrator.Core.Vms.Internal;

/// <summary>
/// INTERNAL API. One VM: owns and supervises its <c>guest</c> (QGA) and <c>monitor</c> (QMP)
/// channels and keeps the VM's view (agent up?, version, commands, freeze status, run state).
/// Requests are passed straight to the channel, which replies to the caller; only the few whose
/// result changes the view (guest-info, freeze, thaw, freeze status) pass through here.
/// <code>
///   Running (one behaviour): channel StateChanged / QmpEvent / own replies update the view;
///   a channel stopped by supervision is re-created after RecreateChannelAfter.
/// </code>
/// </summary>
internal sealed class VmActor : UntypedActor, IWithTimers
{
    private const string InternalPrefix = "vm-internal-";

    private sealed record ChannelTerminated(string Name);
    private sealed record RecreateChannel(string Name);

    private static readonly HashSet<string> Observed =
        ["guest-info", "guest-fsfreeze-freeze", "guest-fsfreeze-freeze-list", "guest-fsfreeze-thaw", "guest-fsfreeze-status"];

    private readonly VmConfig _config;
    private readonly Vm.Settings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, Vm.Execute> _relayed = [];
    private readonly HashSet<IActorRef> _subscribers = [];
    private IActorRef? _guest;
    private IActorRef? _monitor;
    private long _internalSeq;
    private bool _agentConnected;
    private bool _monitorConnected;
    private string? _agentVersion;
    private IReadOnlyList<string> _enabled = [];
    private string? _freezeStatus;
    private string? _runState;
    private string? _lastError;

    public VmActor(VmConfig config, Vm.Settings settings)
    {
        _config = config;
        _settings = settings;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    private string VmId => _config.Id;

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(_settings.MaxChannelRestarts, _settings.RestartWindow, ex => ex switch
        {
            ActorInitializationException => Directive.Stop,
            // I/O faults are expected of a guest; the channel restarts behind its RestartDelay.
            SocketException or IOException or ObjectDisposedException => Directive.Restart,
            _ => Directive.Restart,
        });

    protected override void PreStart()
    {
        _guest = StartGuest();
        if (_config.QmpSocket is not null) _monitor = StartMonitor();
    }

    protected override void PreRestart(Exception reason, object message)
    {
        // The relay table dies with this instance: answer what it holds before the children go.
        FailRelayed(Vm.FailureKind.ChannelBroken, $"VM actor restarted after fault: {reason.Message}");
        base.PreRestart(reason, message);
    }

    protected override void PostStop() => FailRelayed(Vm.FailureKind.Rejected, "VM actor stopped (VM removed or shutting down)");

    private void FailRelayed(Vm.FailureKind kind, string reason)
    {
        foreach (var e in _relayed.Values)
            e.ReplyTo.Tell(new Vm.Executed(VmId, e.RequestId, e.Command.Name, null, null, new Vm.Failure(kind, reason)));
        _relayed.Clear();
    }

    private IActorRef StartGuest()
    {
        var s = _settings.Guest with { VmId = VmId, SocketPath = _config.QgaSocket };
        var child = Context.ActorOf(GuestChannel.Props(s), "guest");
        Context.WatchWith(child, new ChannelTerminated("guest"));
        return child;
    }

    private IActorRef StartMonitor()
    {
        var s = _settings.Monitor with { VmId = VmId, SocketPath = _config.QmpSocket! };
        var child = Context.ActorOf(MonitorChannel.Props(s), "monitor");
        Context.WatchWith(child, new ChannelTerminated("monitor"));
        return child;
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Vm.Execute e:
                OnExecute(e);
                break;
            case Vm.Executed r when r.RequestId.StartsWith(InternalPrefix, StringComparison.Ordinal):
                OnOwnReply(r);
                break;
            case Vm.ExecuteQmp q:
                if (_monitor is null)
                    q.ReplyTo.Tell(new Vm.QmpExecuted(VmId, q.RequestId, q.Command, null, null,
                        new Vm.Failure(Vm.FailureKind.Unreachable, _config.QmpSocket is null ? "no QMP socket configured for this VM" : "monitor channel stopped")));
                else _monitor.Tell(q);
                break;
            case Vm.QmpExecuted r when r.RequestId.StartsWith(InternalPrefix, StringComparison.Ordinal):
                if (r.Return is { ValueKind: JsonValueKind.Object } st && st.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String)
                    _runState = s.GetString();
                break;
            case Vm.QmpEvent ev:
                OnQmpEvent(ev);
                break;
            case Vm.SubscribeEvents sub:
                if (_subscribers.Add(sub.Subscriber)) Context.Watch(sub.Subscriber);
                break;
            case Vm.UnsubscribeEvents unsub:
                if (_subscribers.Remove(unsub.Subscriber)) Context.Unwatch(unsub.Subscriber);
                break;
            case Vm.ResyncGuest r:
                _guest?.Tell(new GuestChannel.Resync(r.Reason));
                break;
            case Vm.GetStatus g:
                g.ReplyTo.Tell(CurrentStatus());
                break;
            case GuestChannel.StateChanged sc:
                OnGuestState(sc);
                break;
            case MonitorChannel.StateChanged mc:
                _monitorConnected = mc.Connected;
                if (!mc.Connected) _runState = null;
                else _monitor?.Tell(new Vm.ExecuteQmp(VmId, QmpCommands.QueryStatus, null, NextInternalId(), Self));
                break;
            case ChannelTerminated t:
                _log.Warning("{VmId} {Channel} channel stopped; re-creating in {Delay}", VmId, t.Name, _settings.RecreateChannelAfter);
                if (t.Name == "guest") { _guest = null; _agentConnected = false; }
                else { _monitor = null; _monitorConnected = false; }
                Timers.StartSingleTimer("recreate-" + t.Name, new RecreateChannel(t.Name), _settings.RecreateChannelAfter);
                break;
            case RecreateChannel rc:
                if (rc.Name == "guest" && _guest is null) _guest = StartGuest();
                else if (rc.Name == "monitor" && _monitor is null) _monitor = StartMonitor();
                break;
            case Terminated term:
                _subscribers.Remove(term.ActorRef);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void OnExecute(Vm.Execute e)
    {
        if (_guest is null)
        {
            e.ReplyTo.Tell(new Vm.Executed(VmId, e.RequestId, e.Command.Name, null, null,
                new Vm.Failure(Vm.FailureKind.Unreachable, "guest channel stopped after repeated faults; restarting")));
            return;
        }
        if (!Observed.Contains(e.Command.Name))
        {
            _guest.Tell(e);
            return;
        }
        var id = NextInternalId();
        _relayed[id] = e;
        _guest.Tell(e with { RequestId = id, ReplyTo = Self });
    }

    private void OnOwnReply(Vm.Executed r)
    {
        Observe(r);
        if (_relayed.Remove(r.RequestId, out var original))
        {
            original.ReplyTo.Tell(r with { RequestId = original.RequestId });
        }
        else if (r.Command == "guest-info" && r.Succeeded
                 && _settings.QueryAgentOnConnect && _enabled.Contains("guest-fsfreeze-status"))
        {
            Ask(QgaCommands.GuestFsfreezeStatus);
        }
    }

    private void Observe(Vm.Executed r)
    {
        if (r.Failure is { } f) _lastError = $"{r.Command}: {f.Kind} {f.Reason}";
        if (!r.Succeeded || r.Return is not { } ret) return;
        switch (r.Command)
        {
            case "guest-info":
                try
                {
                    if (ret.Deserialize(QgaCommands.GuestInfo.ResultType) is { } info)
                    {
                        _agentVersion = info.Version;
                        _enabled = info.SupportedCommands.Where(c => c.Enabled).Select(c => c.Name).ToList();
                        _log.Info("{VmId} guest agent {AgentVersion} with {CommandCount} enabled commands", VmId, _agentVersion, _enabled.Count);
                    }
                }
                catch (JsonException ex)
                {
                    _lastError = $"guest-info reply does not fit the schema: {ex.Message}";
                }
                break;
            case "guest-fsfreeze-status":
                if (ret.ValueKind == JsonValueKind.String) _freezeStatus = ret.GetString();
                break;
            case "guest-fsfreeze-freeze" or "guest-fsfreeze-freeze-list":
                _freezeStatus = "frozen";
                break;
            case "guest-fsfreeze-thaw":
                _freezeStatus = "thawed";
                break;
        }
    }

    private void OnGuestState(GuestChannel.StateChanged sc)
    {
        var was = _agentConnected;
        _agentConnected = sc.Phase == GuestChannel.Phase.Ready;
        if (sc.Reason is not null && sc.Phase is GuestChannel.Phase.Disconnected or GuestChannel.Phase.Broken) _lastError = sc.Reason;
        if (_agentConnected && !was && _settings.QueryAgentOnConnect) Ask(QgaCommands.GuestInfo);
    }

    private void OnQmpEvent(Vm.QmpEvent ev)
    {
        switch (ev.Name)
        {
            case "STOP": _runState = "paused"; break;
            case "RESUME" or "WAKEUP" or "RESET": _runState = "running"; break;
            case "SUSPEND": _runState = "suspended"; break;
            case "SHUTDOWN" or "SUSPEND_DISK": _runState = "shutdown"; break;
        }
        if (ev.Name is "SHUTDOWN" or "SUSPEND" or "SUSPEND_DISK") _guest?.Tell(new GuestChannel.PowerEvent(ev.Name));
        // The agent slept through whatever was on the wire: the schema asks for a sync after resume.
        if (ev.Name == "WAKEUP") _guest?.Tell(new GuestChannel.Resync("guest woke up from suspend"));
        foreach (var s in _subscribers) s.Tell(ev);
    }

    private void Ask<TResult>(QgaCommand<NoArguments, TResult> command) =>
        _guest?.Tell(new Vm.Execute(VmId, command, null, NextInternalId(), Self));

    private string NextInternalId() => InternalPrefix + (++_internalSeq).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private Vm.Status CurrentStatus() => new(VmId, _config, _agentConnected, _agentVersion, _enabled, _freezeStatus, _runState, _monitorConnected, _lastError);
}
