using System.Buffers;
using System.Net.Sockets;
using Akka.Actor;
using QgaOrchestrator.Protocol.Framing;

namespace QgaOrchestrator.Core.Channel.Internal;

/// <summary>
/// INTERNAL API. The plumbing shared by the QGA and QMP channel actors: one unix-socket connection,
/// a read loop that frames lines off the actor thread and tells the actor what it read, and
/// serialized async writes. Every message it sends carries the connection's epoch so the actor can
/// drop what a connection it has already abandoned still says.
/// </summary>
internal sealed class SocketConnection : IDisposable
{
    /// <summary>Lines read; <see cref="Lines"/> is never empty.</summary>
    public sealed record Received(long Epoch, FramedLine[] Lines);

    /// <summary>The connection ended: EOF (<see cref="Eof"/>), an I/O error, or a failed write.</summary>
    public sealed record Closed(long Epoch, string Reason, bool Eof);

    public sealed record Connected(long Epoch, SocketConnection Connection);

    public sealed record ConnectFailed(long Epoch, string Reason);

    private readonly Socket _socket;
    private readonly IActorRef _owner;
    private readonly FramingLimits _limits;
    private readonly int _receiveBufferBytes;
    private readonly CancellationTokenSource _cts = new();
    private readonly object _writeGate = new();
    private Task _writeTail = Task.CompletedTask;
    private int _closed;

    private SocketConnection(Socket socket, long epoch, IActorRef owner, FramingLimits limits, int receiveBufferBytes)
    {
        _socket = socket;
        Epoch = epoch;
        _owner = owner;
        _limits = limits;
        _receiveBufferBytes = receiveBufferBytes;
    }

    public long Epoch { get; }

    /// <summary>
    /// Connects without blocking the caller; the owner gets <see cref="Connected"/> (and then
    /// <see cref="Received"/>/<see cref="Closed"/>) or <see cref="ConnectFailed"/>.
    /// </summary>
    public static void Start(string path, long epoch, IActorRef owner, FramingLimits limits, int receiveBufferBytes, TimeSpan connectTimeout)
    {
        _ = ConnectAsync(path, epoch, owner, limits, receiveBufferBytes, connectTimeout);
    }

    private static async Task ConnectAsync(string path, long epoch, IActorRef owner, FramingLimits limits, int bufferBytes, TimeSpan timeout)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            // WaitAsync too: a connect stuck on a full backlog must still end as a state, not hang.
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cts.Token).AsTask().WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or TimeoutException or IOException or ArgumentException)
        {
            socket.Dispose();
            var reason = e switch
            {
                OperationCanceledException or TimeoutException => $"connect to {path} timed out",
                SocketException { SocketErrorCode: SocketError.AddressNotAvailable or SocketError.AddressFamilyNotSupported } => $"no socket at {path}",
                SocketException s => $"connect to {path} failed: {s.SocketErrorCode}",
                _ => $"connect to {path} failed: {e.Message}",
            };
            if (!File.Exists(path)) reason = $"no socket at {path}";
            owner.Tell(new ConnectFailed(epoch, reason));
            return;
        }
        var connection = new SocketConnection(socket, epoch, owner, limits, bufferBytes);
        owner.Tell(new Connected(epoch, connection));
        _ = connection.ReadLoopAsync();
    }

    /// <summary>Queues <paramref name="bytes"/> behind any earlier write; a failure closes the connection.</summary>
    public void Send(ReadOnlyMemory<byte> bytes)
    {
        lock (_writeGate)
        {
            if (_writeTail.IsCompleted && Volatile.Read(ref _closed) == 0)
            {
                // Fast path: a small write to a unix socket nearly always completes synchronously.
                try
                {
                    var pending = _socket.SendAsync(bytes, SocketFlags.None, _cts.Token);
                    if (pending.IsCompletedSuccessfully)
                    {
                        int n = pending.Result;
                        if (n == bytes.Length) return;
                        _writeTail = WriteAfterAsync(Task.CompletedTask, bytes[n..]);
                    }
                    else
                    {
                        _writeTail = CompleteAsync(pending, bytes);
                    }
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException or IOException)
                {
                    Close($"write failed: {e.Message}", eof: false);
                }
                return;
            }
            _writeTail = WriteAfterAsync(_writeTail, bytes);
        }
    }

    private async Task CompleteAsync(ValueTask<int> pending, ReadOnlyMemory<byte> bytes)
    {
        try
        {
            int n = await pending.ConfigureAwait(false);
            if (n < bytes.Length) await WriteAfterAsync(Task.CompletedTask, bytes[n..]).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException or IOException)
        {
            Close($"write failed: {e.Message}", eof: false);
        }
    }

    private async Task WriteAfterAsync(Task previous, ReadOnlyMemory<byte> bytes)
    {
        await previous.ConfigureAwait(false);
        if (Volatile.Read(ref _closed) != 0) return;
        try
        {
            while (!bytes.IsEmpty)
            {
                int n = await _socket.SendAsync(bytes, SocketFlags.None, _cts.Token).ConfigureAwait(false);
                bytes = bytes[n..];
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException or IOException)
        {
            Close($"write failed: {e.Message}", eof: false);
        }
    }

    private async Task ReadLoopAsync()
    {
        // A pooled buffer is held only while bytes are being copied out: an idle channel waits on a
        // zero-byte receive and owns no receive buffer at all.
        JsonLineFramer? framer = null;
        var lines = new List<FramedLine>();
        try
        {
            while (true)
            {
                await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, _cts.Token).ConfigureAwait(false);
                var buffer = ArrayPool<byte>.Shared.Rent(_receiveBufferBytes);
                int n;
                try
                {
                    n = await _socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, _cts.Token).ConfigureAwait(false);
                    if (n > 0)
                    {
                        framer ??= FramerPool.Rent(_limits);
                        framer.Feed(buffer.AsSpan(0, n), lines);
                        // Between messages the framer holds nothing: hand it (and its 4 KiB buffer) back while idle.
                        if (framer.BufferedBytes == 0 && buffer[n - 1] == (byte)'\n')
                        {
                            FramerPool.Return(_limits, framer);
                            framer = null;
                        }
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
                if (lines.Count > 0)
                {
                    _owner.Tell(new Received(Epoch, [.. lines]));
                    lines.Clear();
                }
                if (n == 0)
                {
                    Close("peer closed the connection", eof: true);
                    return;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException or IOException)
        {
            Close($"read failed: {e.Message}", eof: false);
        }
    }

    private void Close(string reason, bool eof)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        _owner.Tell(new Closed(Epoch, reason, eof));
        Dispose();
    }

    /// <summary>Closes the socket; the owner hears nothing more from this connection.</summary>
    public void Dispose()
    {
        Interlocked.Exchange(ref _closed, 1);
        // Async, so the read loop's continuation never runs inline on the (actor) thread that disposes.
        _ = _cts.CancelAsync();
        _socket.Dispose();
    }
}

/// <summary>
/// INTERNAL API. Line framers shared by all idle connections: a connection holds one only while a
/// message is partly read, so a thousand idle VMs do not keep a thousand 4 KiB framing buffers.
/// </summary>
internal static class FramerPool
{
    private const int MaxPooledPerLimits = 256;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<FramingLimits, Pool> Pools = new();

    private sealed class Pool
    {
        public readonly System.Collections.Concurrent.ConcurrentQueue<JsonLineFramer> Items = new();
        public int Count;
    }

    public static JsonLineFramer Rent(FramingLimits limits)
    {
        if (Pools.TryGetValue(limits, out var pool) && pool.Items.TryDequeue(out var framer))
        {
            Interlocked.Decrement(ref pool.Count);
            return framer;
        }
        return new JsonLineFramer(limits);
    }

    public static void Return(FramingLimits limits, JsonLineFramer framer)
    {
        var pool = Pools.GetOrAdd(limits, static _ => new Pool());
        if (Volatile.Read(ref pool.Count) >= MaxPooledPerLimits) return;
        framer.Reset();
        Interlocked.Increment(ref pool.Count);
        pool.Items.Enqueue(framer);
    }
}
