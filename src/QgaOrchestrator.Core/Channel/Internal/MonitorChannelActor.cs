using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol;
using QgaOrchestrator.Protocol.Framing;
using QgaOrchestrator.Protocol.Qmp;
using static QgaOrchestrator.Core.Channel.MonitorChannel;
using Settings = QgaOrchestrator.Core.Channel.MonitorChannel.Settings;

namespace QgaOrchestrator.Core.Channel.Internal;

/// <summary>
/// INTERNAL API. One QMP connection.
/// <code>
///   Connecting ──connected──> Negotiating ──greeting, qmp_capabilities ok──> Ready
///       ^  │ failed                │ timeout / error / EOF                    │ EOF / garbage
///       │  v                       v                                          v
///       └─ Disconnected &lt;─────────┴──────────────────────────────────────────┘   (backoff)
/// </code>
/// Commands carry ids and may be pipelined; a reply with an unknown id (the late reply of a
/// timed-out command) is dropped. Requests made before Ready wait, up to their deadline.
/// </summary>
internal sealed class MonitorChannelActor : UntypedActor, IWithTimers
{
    private const string ReconnectTimer = "reconnect";
    private const string NegotiationTimer = "negotiation";

    private sealed record Reconnect(long Epoch);
    private sealed record NegotiationTimedOut(long Epoch);
    private sealed record RequestTimedOut(long Id);

    private sealed record Pending(Vm.ExecuteQmp Request, long Id, byte[] Bytes);

    private readonly Settings _settings;
    private readonly IActorRef? _listener;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<long, Pending> _pending = [];
    private readonly List<Pending> _unsent = [];
    private SocketConnection? _connection;
    private long _epoch;
    private long _nextId = 1;
    private long _capabilitiesId;
    private int _failures;
    private bool _unreachable;
    private bool _connected;
    private string? _lastError;

    public MonitorChannelActor(Settings settings, IActorRef? listener)
    {
        _settings = settings;
        _listener = listener;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    private IActorRef Listener => _listener ?? Context.Parent;

    private string VmId => _settings.VmId;

    protected override void PreStart() => BeginConnect();

    protected override void PostRestart(Exception reason) => EnterDisconnected($"restarted after fault: {reason.Message}", false, _settings.RestartDelay);

    protected override void PostStop()
    {
        FailAll(Vm.FailureKind.Rejected, "monitor channel stopped");
        _connection?.Dispose();
    }

    protected override void OnReceive(object message) => Unhandled(message);

    private void Connecting(object message)
    {
        switch (message)
        {
            case SocketConnection.Connected c when c.Epoch == _epoch:
                _connection = c.Connection;
                Timers.StartSingleTimer(NegotiationTimer, new NegotiationTimedOut(_epoch), _settings.NegotiationTimeout);
                Become(Negotiating);
                break;
            case SocketConnection.ConnectFailed f when f.Epoch == _epoch:
                _unreachable = true;
                EnterDisconnected(f.Reason, true, NextBackoff());
                break;
            case SocketConnection.Connected stale:
                stale.Connection.Dispose();
                break;
            default:
                Common(message);
                break;
        }
    }

    private void Negotiating(object message)
    {
        switch (message)
        {
            case SocketConnection.Received r when r.Epoch == _epoch:
                foreach (var line in r.Lines)
                {
                    if (r.Epoch != _epoch) break;
                    var m = Parse(line);
                    if (m is null) return;
                    switch (m)
                    {
                        case QmpMessage.Greeting:
                            _capabilitiesId = _nextId++;
                            _connection!.Send(QmpCommands.Encode(QmpCommands.Capabilities, null, _capabilitiesId));
                            break;
                        case QmpMessage.Return ret when IdOf(ret.Id) == _capabilitiesId:
                            EnterReady();
                            break;
                        case QmpMessage.Error err when IdOf(err.Id) == _capabilitiesId:
                            EnterDisconnected($"qmp_capabilities failed: {err.Value}", true, NextBackoff());
                            return;
                        case QmpMessage.Event ev when _connected:
                            OnEvent(ev);
                            break;
                        default:
                            OnMessage(m);
                            break;
                    }
                }
                break;
            case NegotiationTimedOut t when t.Epoch == _epoch:
                EnterDisconnected("no QMP greeting or capabilities reply in time", true, NextBackoff());
                break;
            default:
                Connected(message);
                break;
        }
    }

    private void Ready(object message)
    {
        switch (message)
        {
            case SocketConnection.Received r when r.Epoch == _epoch:
                foreach (var line in r.Lines)
                {
                    if (r.Epoch != _epoch) break;
                    if (Parse(line) is { } m) OnMessage(m);
                }
                break;
            default:
                Connected(message);
                break;
        }
    }

    private void Disconnected(object message)
    {
        switch (message)
        {
            case Reconnect r when r.Epoch == _epoch:
                BeginConnect();
                break;
            default:
                Common(message);
                break;
        }
    }

    private void Connected(object message)
    {
        switch (message)
        {
            case SocketConnection.Closed c when c.Epoch == _epoch:
                _connection = null;
                EnterDisconnected(c.Reason, false, NextBackoff());
                break;
            default:
                Common(message);
                break;
        }
    }

    private void Common(object message)
    {
        switch (message)
        {
            case Vm.ExecuteQmp e:
                Accept(e);
                break;
            case RequestTimedOut t:
                if (_pending.Remove(t.Id, out var p))
                {
                    _unsent.Remove(p);
                    Reply(p, failure: new Vm.Failure(Vm.FailureKind.Timeout, $"no QMP reply to {p.Request.Command} within its deadline"));
                }
                break;
            case SocketConnection.Received or SocketConnection.Closed or SocketConnection.ConnectFailed or NegotiationTimedOut or Reconnect:
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private QmpMessage? Parse(FramedLine line)
    {
        if (_log.IsDebugEnabled && line is FramedLine.Line l)
            _log.Debug("{VmId} qmp << {Wire}", VmId, Encoding.UTF8.GetString(l.Json.Span));
        var (message, rejected) = line is FramedLine.Line ok ? QmpMessage.Parse(ok, _settings.Limits) : (null, (FramedLine.Rejected)line);
        if (rejected is not null)
        {
            EnterDisconnected($"malformed QMP frame: {rejected.Kind}: {rejected.Detail}", false, NextBackoff());
            return null;
        }
        return message;
    }

    private void OnMessage(QmpMessage m)
    {
        switch (m)
        {
            case QmpMessage.Event ev:
                OnEvent(ev);
                break;
            case QmpMessage.Return ret:
                if (IdOf(ret.Id) is { } id && _pending.Remove(id, out var p))
                {
                    Timers.Cancel(TimerKey(id));
                    Reply(p, ret: ret.Value);
                }
                else _log.Debug("{VmId} dropping QMP reply with unknown id {Id}", VmId, ret.Id?.ToString());
                break;
            case QmpMessage.Error err:
                if (IdOf(err.Id) is { } eid && _pending.Remove(eid, out var pe))
                {
                    Timers.Cancel(TimerKey(eid));
                    Reply(pe, error: err.Value);
                }
                else _log.Debug("{VmId} dropping QMP error with unknown id {Id}", VmId, err.Id?.ToString());
                break;
            case QmpMessage.Greeting:
                break;
        }
    }

    private void OnEvent(QmpMessage.Event ev)
    {
        _log.Info("{VmId} QMP event {Event}", VmId, ev.Name);
        Listener.Tell(new Vm.QmpEvent(VmId, ev.Name, ev.Data, ev.Timestamp ?? Context.System.Scheduler.Now));
    }

    private void Accept(Vm.ExecuteQmp e)
    {
        if (_unreachable)
        {
            e.ReplyTo.Tell(new Vm.QmpExecuted(VmId, e.RequestId, e.Command, null, null, new Vm.Failure(Vm.FailureKind.Unreachable, _lastError ?? "QMP unreachable")));
            return;
        }
        var id = _nextId++;
        var p = new Pending(e, id, QmpCommands.Encode(e.Command, e.Arguments, id));
        _pending[id] = p;
        Timers.StartSingleTimer(TimerKey(id), new RequestTimedOut(id), e.Timeout ?? _settings.TimeoutFor(e.Command));
        if (_connected) Write(p);
        else _unsent.Add(p);
    }

    private void Write(Pending p)
    {
        if (_log.IsDebugEnabled) _log.Debug("{VmId} qmp >> {RequestId} {Wire}", VmId, p.Request.RequestId, Encoding.UTF8.GetString(p.Bytes).TrimEnd());
        _connection!.Send(p.Bytes);
    }

    private void BeginConnect()
    {
        _epoch++;
        Become(Connecting);
        SocketConnection.Start(_settings.SocketPath, _epoch, Self, _settings.Limits, _settings.ReceiveBufferBytes, _settings.ConnectTimeout);
    }

    private void EnterReady()
    {
        Timers.Cancel(NegotiationTimer);
        _failures = 0;
        _unreachable = false;
        _connected = true;
        _lastError = null;
        _log.Info("{VmId} monitor channel ready on {Socket}", VmId, _settings.SocketPath);
        Listener.Tell(new StateChanged(VmId, true, null));
        Become(Ready);
        foreach (var p in _unsent) Write(p);
        _unsent.Clear();
    }

    private void EnterDisconnected(string reason, bool unreachable, TimeSpan retryIn)
    {
        Timers.Cancel(NegotiationTimer);
        _connection?.Dispose();
        _connection = null;
        bool was = _connected;
        _connected = false;
        _lastError = reason;
        _log.Warning("{VmId} monitor channel disconnected: {Reason}", VmId, reason);
        // Sent commands lost their replies; unsent ones may wait for the reconnect unless QMP is unreachable.
        foreach (var p in _pending.Values.Where(p => !_unsent.Contains(p)).ToList())
        {
            _pending.Remove(p.Id);
            Timers.Cancel(TimerKey(p.Id));
            Reply(p, failure: new Vm.Failure(Vm.FailureKind.ChannelBroken, reason));
        }
        if (unreachable)
        {
            _unreachable = true;
            FailAll(Vm.FailureKind.Unreachable, reason);
        }
        if (was || unreachable) Listener.Tell(new StateChanged(VmId, false, reason));
        _epoch++;
        Timers.StartSingleTimer(ReconnectTimer, new Reconnect(_epoch), retryIn);
        Become(Disconnected);
    }

    private void FailAll(Vm.FailureKind kind, string reason)
    {
        foreach (var p in _pending.Values) Reply(p, failure: new Vm.Failure(kind, reason));
        _pending.Clear();
        _unsent.Clear();
    }

    private void Reply(Pending p, JsonElement? ret = null, QgaError? error = null, Vm.Failure? failure = null)
    {
        var r = p.Request;
        r.ReplyTo.Tell(new Vm.QmpExecuted(VmId, r.RequestId, r.Command, failure is null && error is null ? ret : null, error, failure));
    }

    private TimeSpan NextBackoff() =>
        ReconnectBackoff.Next(_settings.ReconnectMinBackoff, _settings.ReconnectMaxBackoff, _failures++);

    private static string TimerKey(long id) => "req-" + id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static long? IdOf(JsonElement? id) =>
        id is { ValueKind: JsonValueKind.Number } v && v.TryGetInt64(out var n) ? n : null;
}
