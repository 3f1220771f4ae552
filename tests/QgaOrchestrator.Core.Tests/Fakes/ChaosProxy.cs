using System.Net.Sockets;
using System.Text;

namespace QgaOrchestrator.Core.Tests.Fakes;

/// <summary>How often (per reply line, 0..1) each fault is injected on the agent → host path.</summary>
public sealed record ChaosRates
{
    public static readonly ChaosRates None = new();

    public double Drop { get; init; }
    public double Delay { get; init; }
    public TimeSpan DelayBy { get; init; } = TimeSpan.FromMilliseconds(500);
    public double Duplicate { get; init; }
    public double Stale { get; init; }
    public double Garbage { get; init; }
    public double LoneSentinel { get; init; }
    public double SplitBytes { get; init; }
    public double Oversized { get; init; }
    public int OversizedBytes { get; init; } = 80 * 1024;
    public double Disconnect { get; init; }
}

/// <summary>
/// A unix-socket proxy between the channel and a real agent that corrupts what the agent sends:
/// drops, delays past the deadline, duplicated and stale replies, garbage and lone 0xFF bytes,
/// replies split byte by byte, oversized replies and disconnects. Requests pass untouched.
/// Seeded, so a failing run can be replayed.
/// </summary>
public sealed class ChaosProxy : IAsyncDisposable
{
    private readonly string _upstream;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _cts = new();
    private readonly Random _random;
    private readonly string _dir;
    private readonly List<Socket> _open = [];
    private readonly List<byte[]> _history = [];
    private long _faults;

    public ChaosProxy(string upstreamPath, int seed)
    {
        _upstream = upstreamPath;
        _random = new Random(seed);
        _dir = Directory.CreateTempSubdirectory("chaos-").FullName;
        SocketPath = Path.Combine(_dir, "proxy.sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(16);
        _ = AcceptLoopAsync();
    }

    public string SocketPath { get; }

    public ChaosRates Rates { get; set; } = ChaosRates.None;

    public long Faults => Interlocked.Read(ref _faults);

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        _listener.Dispose();
        lock (_open)
            foreach (var s in _open) s.Dispose();
        try
        {
            Directory.Delete(_dir, true);
        }
        catch (IOException)
        {
        }
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptAsync(_cts.Token);
                var upstream = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await upstream.ConnectAsync(new UnixDomainSocketEndPoint(_upstream), _cts.Token).AsTask().WaitAsync(TimeSpan.FromSeconds(2));
                }
                catch (Exception e) when (e is SocketException or TimeoutException)
                {
                    client.Dispose();
                    upstream.Dispose();
                    continue;
                }
                lock (_open)
                {
                    _open.Add(client);
                    _open.Add(upstream);
                }
                _ = PumpRequestsAsync(client, upstream);
                _ = PumpRepliesAsync(upstream, client);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private static async Task PumpRequestsAsync(Socket from, Socket to)
    {
        var buffer = new byte[16384];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0) break;
                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None);
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
        }
        from.Dispose();
        to.Dispose();
    }

    private async Task PumpRepliesAsync(Socket from, Socket to)
    {
        var buffer = new byte[65536];
        var line = new List<byte>();
        bool open = true;
        try
        {
            while (open)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0) break;
                for (int i = 0; i < n; i++)
                {
                    line.Add(buffer[i]);
                    if (buffer[i] != (byte)'\n') continue;
                    var bytes = line.ToArray();
                    line.Clear();
                    if (!await ForwardAsync(bytes, to))
                    {
                        open = false; // the chaos disconnected: close the agent side too
                        break;
                    }
                }
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
        }
        from.Dispose();
        to.Dispose();
    }

    /// <summary>Forwards one reply line through the chaos; false when it disconnected.</summary>
    private async Task<bool> ForwardAsync(byte[] bytes, Socket to)
    {
        var r = Rates;
        double Roll()
        {
            lock (_random) return _random.NextDouble();
        }
        if (Roll() < r.Disconnect)
        {
            Interlocked.Increment(ref _faults);
            to.Dispose();
            return false;
        }
        if (Roll() < r.Drop)
        {
            Interlocked.Increment(ref _faults);
            return true;
        }
        if (Roll() < r.Delay)
        {
            Interlocked.Increment(ref _faults);
            await Task.Delay(r.DelayBy); // a slow link, not a test wait: everything behind it is late too
        }
        if (Roll() < r.Garbage)
        {
            Interlocked.Increment(ref _faults);
            await to.SendAsync(Encoding.ASCII.GetBytes("}{garbage\"\n"), SocketFlags.None);
        }
        if (Roll() < r.LoneSentinel)
        {
            Interlocked.Increment(ref _faults);
            await to.SendAsync(new byte[] { 0xFF }, SocketFlags.None);
        }
        if (Roll() < r.Oversized)
        {
            Interlocked.Increment(ref _faults);
            var big = Encoding.ASCII.GetBytes("{\"return\": \"" + new string('x', r.OversizedBytes) + "\"}\n");
            await to.SendAsync(big, SocketFlags.None);
        }
        if (Roll() < r.Stale)
        {
            byte[]? old = null;
            lock (_history)
                if (_history.Count > 0) old = _history[(int)(Roll() * _history.Count)];
            if (old is not null)
            {
                Interlocked.Increment(ref _faults);
                await to.SendAsync(old, SocketFlags.None);
            }
        }
        if (Roll() < r.SplitBytes)
        {
            Interlocked.Increment(ref _faults);
            for (int i = 0; i < bytes.Length; i++) await to.SendAsync(bytes.AsMemory(i, 1), SocketFlags.None);
        }
        else
        {
            await to.SendAsync(bytes, SocketFlags.None);
        }
        if (Roll() < r.Duplicate)
        {
            Interlocked.Increment(ref _faults);
            await to.SendAsync(bytes, SocketFlags.None);
        }
        lock (_history)
        {
            _history.Add(bytes);
            if (_history.Count > 64) _history.RemoveAt(0);
        }
        return true;
    }
}
