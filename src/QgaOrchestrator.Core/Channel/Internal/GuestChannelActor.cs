using System.Buffers;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using QgaOrchestrator.Core.Telemetry;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol;
using QgaOrchestrator.Protocol.Framing;
using static QgaOrchestrator.Core.Channel.GuestChannel;
using Settings = QgaOrchestrator.Core.Channel.GuestChannel.Settings;

namespace QgaOrchestrator.Core.Channel.Internal;

/// <summary>
/// INTERNAL API. One QGA connection.
/// <code>
///            ┌──────────── backoff timer ─────────────┐
///            v                                         │
///   ──> Connecting ──connect failed──> Disconnected ───┘   (queue fails Unreachable)
///            │ connected                    ^
///            v                              │ EOF / I/O error (in-flight fails ChannelBroken)
///   ┌──> Syncing ──N attempts timed out──> Broken ──backoff──> Connecting
///   │        │ 0xFF + {"return": syncId}
///   │        v
///   │      Ready &lt;──reply with the in-flight id── Busy
///   │        └────────── dequeue + send ──────────^ │
///   └─── timeout / unexpected frame / garbage ──────┘  (in-flight fails Timeout / ChannelBroken)
/// </code>
/// Each request goes out with a fresh integer id (never reused, not even across reconnects), so a
/// reply is delivered only when it carries the in-flight id; anything else is unexpected and sends
/// the channel back to Syncing, where everything up to 0xFF + the sync id is discarded.
/// </summary>
internal sealed class GuestChannelActor : UntypedActor, IWithTimers
{
    private const string ReconnectTimer = "reconnect";
    private const string SyncTimer = "sync";
    private const string DeadlineTimer = "deadline";

    private sealed record Reconnect(long Epoch);
    private sealed record SyncTimedOut(long SyncId);
    // One lazily re-armed timer covers the in-flight request and the queue: it is armed for the
    // earliest deadline and never cancelled, so a fast reply costs no timer work at all.
    private sealed class CheckDeadlines
    {
        public static readonly CheckDeadlines Instance = new();
        private CheckDeadlines() { }
    }

    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    private readonly Settings _settings;
    private readonly IActorRef? _listener;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly PendingRequests _queue = new();
    private DateTimeOffset? _deadlineTimerAt;
    private PendingRequest? _inFlight;
    private SocketConnection? _connection;
    private long _epoch;
    private long _nextWireId = Random.Shared.NextInt64(1, 1L << 40);
    private long _syncId;
    private int _syncAttempts;
    private string? _syncReason;
    private int _failures;
    private bool _unreachable;
    private string? _lastError;
    private Phase _phase = Phase.Connecting;
    private Vm.FailureKind _stopFailure = Vm.FailureKind.Rejected;
    private string _stopReason = "channel stopped (VM removed or shutting down)";

    public GuestChannelActor(Settings settings, IActorRef? listener)
    {
        _settings = settings;
        _listener = listener;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    private IActorRef Listener => _listener ?? Context.Parent;

    private DateTimeOffset Now => Context.System.Scheduler.Now;

    private string VmId => _settings.VmId;

    protected override void PreStart() => BeginConnect();

    protected override void PostRestart(Exception reason)
    {
        // Supervision restarts the channel behind a delay, never in a tight loop.
        _lastError = $"channel restarted after fault: {reason.Message}";
        EnterDisconnected(_lastError, unreachable: false, _settings.RestartDelay);
    }

    protected override void PreRestart(Exception reason, object message)
    {
        _stopFailure = Vm.FailureKind.ChannelBroken;
        _stopReason = $"channel faulted: {reason.Message}";
        base.PreRestart(reason, message);
    }

    protected override void PostStop()
    {
        FailAll(_stopFailure, _stopReason);
        _connection?.Dispose();
        _connection = null;
    }

    protected override void OnReceive(object message) => Unhandled(message);

    // ---- behaviours -----------------------------------------------------------------------

    private void Connecting(object message)
    {
        switch (message)
        {
            case SocketConnection.Connected c when c.Epoch == _epoch:
                _connection = c.Connection;
                _log.Info("{VmId} guest channel connected to {Socket}", VmId, _settings.SocketPath);
                BeginSync("connected");
                break;
            case SocketConnection.ConnectFailed f when f.Epoch == _epoch:
                EnterDisconnected(f.Reason, unreachable: true, NextBackoff());
                break;
            case SocketConnection.Connected stale:
                stale.Connection.Dispose();
                break;
            default:
                Common(message);
                break;
        }
    }

    private void Syncing(object message)
    {
        switch (message)
        {
            case SyncTimedOut t when t.SyncId == _syncId:
                if (_syncAttempts < _settings.MaxSyncAttempts)
                {
                    _log.Warning("{VmId} guest-sync-delimited {SyncId} unanswered (attempt {Attempt}), retrying", VmId, _syncId, _syncAttempts);
                    SendSync();
                }
                else
                {
                    EnterBroken($"{_syncReason}; guest agent did not answer guest-sync-delimited ({_syncAttempts} attempts of {_settings.SyncTimeout.TotalSeconds:0.###} s)");
                }
                break;
            default:
                Connected(message);
                break;
        }
    }

    private void Ready(object message) => Connected(message);

    private void Busy(object message)
    {
        switch (message)
        {
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

    /// <summary>What every connected phase handles: lines, EOF.</summary>
    private void Connected(object message)
    {
        switch (message)
        {
            case SocketConnection.Received r when r.Epoch == _epoch:
                foreach (var line in r.Lines)
                {
                    OnLine(line);
                    if (r.Epoch != _epoch) break;
                }
                break;
            case SocketConnection.Closed c when c.Epoch == _epoch:
                OnClosed(c);
                break;
            case Resync rs:
                BreakInFlight($"resync requested: {rs.Reason}");
                break;
            default:
                Common(message);
                break;
        }
    }

    /// <summary>What every phase handles: requests, queue deadlines, power events, queries.</summary>
    private void Common(object message)
    {
        switch (message)
        {
            case Vm.Execute e:
                Accept(e);
                break;
            case CheckDeadlines:
                OnDeadlines();
                break;
            case PowerEvent pe:
                OnPowerEvent(pe);
                break;
            case Resync:
                break; // not connected: the next connect syncs first
            case SimulateFault f:
                throw new IOException(f.Reason);
            case GetState q:
                q.ReplyTo.Tell(new State(VmId, _phase, _lastError, _queue.Count, _inFlight is not null));
                break;
            case SocketConnection.Received or SocketConnection.Closed or SocketConnection.ConnectFailed
                or SyncTimedOut or Reconnect:
                break; // from an abandoned connection or a cancelled attempt
            default:
                Unhandled(message);
                break;
        }
    }

    // ---- lines ----------------------------------------------------------------------------

    private void OnLine(FramedLine line)
    {
        if (_log.IsDebugEnabled) LogWire("<<", line);
        switch (_phase)
        {
            case Phase.Syncing:
                if (line is FramedLine.Line { Delimited: true } l
                    && QgaReply.Parse(l, _settings.Limits).Reply is { Return: { ValueKind: JsonValueKind.Number } ret }
                    && ret.TryGetInt64(out var id) && id == _syncId)
                    EnterReady();
                // Everything else (the 0xFF parse-error reply, stale replies of earlier clients) is dropped.
                break;
            case Phase.Ready:
                ResyncNow($"unexpected frame while idle: {Describe(line)}");
                break;
            case Phase.Busy:
                OnBusyLine(line);
                break;
        }
    }

    private void OnBusyLine(FramedLine line)
    {
        var p = _inFlight!;
        if (line is FramedLine.Line l)
        {
            var parsed = QgaReply.Parse(l, _settings.Limits);
            if (parsed.Reply is { Delimited: false } reply && reply.IntegerId == p.WireId)
            {
                _inFlight = null;
                if (reply.Error is { } err) Reply(p, error: err);
                else Reply(p, ret: reply.Return);
                EnterReadyPhase();
                SendNext();
                return;
            }
            var why = parsed.Rejected is { } rej ? $"{rej.Kind}: {rej.Detail}" : $"reply not for request {p.WireId}: {Describe(line)}";
            BreakInFlight(why);
            return;
        }
        var rejected = (FramedLine.Rejected)line;
        BreakInFlight($"{rejected.Kind}: {rejected.Detail}");
    }

    /// <summary>The in-flight reply can no longer be trusted to arrive intact: fail it and resync.</summary>
    private void BreakInFlight(string reason)
    {
        if (_inFlight is { } p)
        {
            _inFlight = null;
            Reply(p, failure: new Vm.Failure(Vm.FailureKind.ChannelBroken, $"channel broke while {p.Request.Command.Name} was in flight: {reason}"));
        }
        ResyncNow(reason);
    }

    private void ResyncNow(string reason)
    {
        _log.Warning("{VmId} guest channel resyncing: {Reason}", VmId, reason);
        QgaMetrics.ChannelResynced(VmId);
        _lastError = reason;
        BeginSync(reason);
    }

    private void OnClosed(SocketConnection.Closed c)
    {
        _connection = null;
        if (_inFlight is { } p)
        {
            _inFlight = null;
            // A shutdown or suspend is done when the guest goes away; anything else lost its reply.
            if (p.NoSuccessReply) Reply(p, ret: EmptyObject);
            else Reply(p, failure: new Vm.Failure(Vm.FailureKind.ChannelBroken, $"{c.Reason} while {p.Request.Command.Name} was in flight"));
        }
        EnterDisconnected(c.Reason, unreachable: false, NextBackoff());
    }

    private void OnPowerEvent(PowerEvent pe)
    {
        if (_inFlight is not { NoSuccessReply: true } p) return;
        bool matches = pe.Name switch
        {
            "SHUTDOWN" => p.Request.Command.Name == "guest-shutdown",
            "SUSPEND" or "SUSPEND_DISK" => p.Request.Command.Name.StartsWith("guest-suspend-", StringComparison.Ordinal),
            _ => false,
        };
        if (!matches) return;
        _inFlight = null;
        Reply(p, ret: EmptyObject);
        EnterReadyPhase();
        SendNext();
    }

    // ---- requests -------------------------------------------------------------------------

    private void Accept(Vm.Execute e)
    {
        var name = e.Command.Name;
        if (name == "guest-sync-delimited")
        {
            Fail(e, Vm.FailureKind.Rejected, "guest-sync-delimited is reserved for the channel's own handshake");
            return;
        }
        if (ArgumentValidator.Validate(e.Command.Arguments, e.Arguments) is { } problem)
        {
            Fail(e, Vm.FailureKind.Rejected, problem);
            return;
        }
        if (_unreachable)
        {
            Fail(e, Vm.FailureKind.Unreachable, _lastError ?? "guest agent unreachable");
            return;
        }
        if (_queue.Count >= _settings.MaxQueued)
        {
            Fail(e, Vm.FailureKind.Rejected, $"{_queue.Count} requests already queued");
            return;
        }
        var timeout = e.Timeout ?? _settings.TimeoutFor(name);
        var pending = new PendingRequest(e, Now + timeout);
        _queue.Enqueue(pending);
        if (_phase == Phase.Ready) SendNext();
        else ArmDeadline(pending.Deadline);
    }

    private void SendNext()
    {
        while (_phase == Phase.Ready && _queue.TryDequeue(out var p))
        {
            var left = p.Deadline - Now;
            if (left <= TimeSpan.Zero)
            {
                Reply(p, failure: new Vm.Failure(Vm.FailureKind.Timeout, "deadline passed while queued (not sent)"));
                continue;
            }
            p.WireId = _nextWireId++;
            var buffer = new ArrayBufferWriter<byte>(128);
            QgaRequestWriter.WriteRaw(buffer, p.Request.Command.Name, p.Request.Arguments, p.WireId);
            _inFlight = p;
            _phase = Phase.Busy;
            Become(Busy);
            ArmDeadline(p.Deadline);
            if (_log.IsDebugEnabled)
                _log.Debug("{VmId} >> {RequestId} {Wire}", VmId, p.Request.RequestId, Encoding.UTF8.GetString(buffer.WrittenSpan).TrimEnd());
            _connection!.Send(buffer.WrittenMemory);
        }
        if (_queue.FirstDeadline is { } next) ArmDeadline(next);
    }

    private void ArmDeadline(DateTimeOffset deadline)
    {
        if (_deadlineTimerAt is { } at && at <= deadline) return;
        _deadlineTimerAt = deadline;
        var delay = deadline - Now;
        Timers.StartSingleTimer(DeadlineTimer, CheckDeadlines.Instance, delay > TimeSpan.Zero ? delay : TimeSpan.Zero);
    }

    private void OnDeadlines()
    {
        _deadlineTimerAt = null;
        if (_phase == Phase.Busy && _inFlight is { } p && p.Deadline <= Now)
        {
            _inFlight = null;
            var reason = $"no reply to {p.Request.Command.Name} within its deadline";
            Reply(p, failure: new Vm.Failure(Vm.FailureKind.Timeout, reason));
            // The late reply may still come: resync so it can never reach the next request.
            BeginSync(reason);
        }
        SweepExpired();
        if (_inFlight is { } still) ArmDeadline(still.Deadline);
    }

    private void SweepExpired()
    {
        var expired = _queue.RemoveExpired(Now, out var earliest);
        foreach (var p in expired)
            Reply(p, failure: new Vm.Failure(Vm.FailureKind.Timeout,
                $"deadline passed while queued (not sent; channel {_phase}{(_lastError is null ? "" : ": " + _lastError)})"));
        if (earliest is { } e) ArmDeadline(e);
    }

    // ---- transitions ----------------------------------------------------------------------

    private void BeginConnect()
    {
        _epoch++;
        ChangePhase(Phase.Connecting, null);
        Become(Connecting);
        SocketConnection.Start(_settings.SocketPath, _epoch, Self, _settings.Limits, _settings.ReceiveBufferBytes, _settings.ConnectTimeout);
    }

    private void BeginSync(string reason)
    {
        _syncAttempts = 0;
        _syncReason = reason;
        ChangePhase(Phase.Syncing, reason);
        Become(Syncing);
        SendSync();
    }

    private void SendSync()
    {
        _syncAttempts++;
        _syncId = _settings.NextSyncId();
        var bytes = QgaRequestWriter.SyncDelimited(_syncId);
        if (_log.IsDebugEnabled) _log.Debug("{VmId} >> 0xFF guest-sync-delimited {SyncId}", VmId, _syncId);
        Timers.StartSingleTimer(SyncTimer, new SyncTimedOut(_syncId), _settings.SyncTimeout);
        _connection!.Send(bytes);
    }

    private void EnterReady()
    {
        Timers.Cancel(SyncTimer);
        _failures = 0;
        _unreachable = false;
        _lastError = null;
        EnterReadyPhase();
        SendNext();
    }

    private void EnterReadyPhase()
    {
        if (_phase != Phase.Busy) ChangePhase(Phase.Ready, null);
        _phase = Phase.Ready;
        Become(Ready);
    }

    private void EnterBroken(string reason)
    {
        Timers.Cancel(SyncTimer);
        CloseConnection();
        _lastError = reason;
        _unreachable = true;
        ChangePhase(Phase.Broken, reason);
        FailAll(Vm.FailureKind.Unreachable, reason);
        ScheduleReconnect(NextBackoff());
        Become(Disconnected);
    }

    private void EnterDisconnected(string reason, bool unreachable, TimeSpan retryIn)
    {
        Timers.Cancel(SyncTimer);
        CloseConnection();
        _lastError = reason;
        if (unreachable)
        {
            _unreachable = true;
            FailAll(Vm.FailureKind.Unreachable, reason);
        }
        ChangePhase(Phase.Disconnected, reason);
        ScheduleReconnect(retryIn);
        Become(Disconnected);
    }

    private void ScheduleReconnect(TimeSpan delay)
    {
        _epoch++; // whatever the old connection still says is now stale
        Timers.StartSingleTimer(ReconnectTimer, new Reconnect(_epoch), delay);
    }

    private void CloseConnection()
    {
        _connection?.Dispose();
        _connection = null;
    }

    private TimeSpan NextBackoff() =>
        ReconnectBackoff.Next(_settings.ReconnectMinBackoff, _settings.ReconnectMaxBackoff, _failures++);

    private void ChangePhase(Phase to, string? reason)
    {
        var from = _phase;
        _phase = to;
        if (from == to) return;
        if (to is Phase.Disconnected or Phase.Broken)
        {
            _log.Warning("{VmId} guest channel {From} -> {To}: {Reason}", VmId, from, to, reason);
            QgaMetrics.ChannelBroke(VmId, to == Phase.Broken ? "broken" : "disconnected");
        }
        else
            _log.Info("{VmId} guest channel {From} -> {To}", VmId, from, to);
        if (to != Phase.Connecting) Listener.Tell(new StateChanged(VmId, to, reason));
    }

    // ---- replies --------------------------------------------------------------------------

    private void FailAll(Vm.FailureKind kind, string reason)
    {
        if (_inFlight is { } p)
        {
            _inFlight = null;
            Reply(p, failure: new Vm.Failure(kind == Vm.FailureKind.Unreachable ? Vm.FailureKind.ChannelBroken : kind, reason));
        }
        foreach (var q in _queue.DrainAll()) Reply(q, failure: new Vm.Failure(kind, reason));
    }

    private void Reply(PendingRequest p, JsonElement? ret = null, QgaError? error = null, Vm.Failure? failure = null)
    {
        var r = p.Request;
        if (failure is { Kind: Vm.FailureKind.Rejected })
            _log.Debug("{VmId} {RequestId} {Command} rejected: {Reason}", VmId, r.RequestId, r.Command.Name, failure.Reason);
        else if (failure is not null)
            _log.Warning("{VmId} {RequestId} {Command} failed: {FailureKind} {Reason}", VmId, r.RequestId, r.Command.Name, failure.Kind, failure.Reason);
        QgaMetrics.CommandAnswered(VmId, r.Command.Name, QgaMetrics.OutcomeOf(error is not null, failure), p.AcceptedAt); // before the reply: a reader sees it
        r.ReplyTo.Tell(new Vm.Executed(VmId, r.RequestId, r.Command.Name, failure is null && error is null ? ret ?? EmptyObject : null, error, failure));
    }

    private void Fail(Vm.Execute e, Vm.FailureKind kind, string reason)
    {
        var failure = new Vm.Failure(kind, reason);
        QgaMetrics.CommandAnswered(VmId, e.Command.Name, QgaMetrics.OutcomeOf(false, failure), QgaMetrics.Now());
        e.ReplyTo.Tell(new Vm.Executed(VmId, e.RequestId, e.Command.Name, null, null, failure));
    }

    private static string Describe(FramedLine line) => line switch
    {
        FramedLine.Line l => Truncate(Encoding.UTF8.GetString(l.Json.Span)),
        FramedLine.Rejected r => $"{r.Kind}: {r.Detail}",
        _ => line.ToString()!,
    };

    private static string Truncate(string s) => s.Length <= 200 ? s : string.Concat(s.AsSpan(0, 200), "…");

    private void LogWire(string dir, FramedLine line) =>
        _log.Debug("{VmId} {Direction} {Wire}", VmId, dir, Describe(line));
}
