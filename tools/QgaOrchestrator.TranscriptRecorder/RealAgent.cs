using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace QgaOrchestrator.TranscriptRecorder;

/// <summary>
/// One qemu-ga process listening on a unix socket in its own fresh directory, with the dangerous
/// commands blocked. Only the PID this class started is ever killed.
/// </summary>
internal sealed class RealAgent : IDisposable
{
    public const string QemuGaPath = "/usr/sbin/qemu-ga";

    /// <summary>Commands that would act on this very machine. They are blocked with -b and checked via guest-info.</summary>
    public static readonly string[] BlockedCommands =
    [
        "guest-shutdown", "guest-suspend-disk", "guest-suspend-ram", "guest-suspend-hybrid",
        "guest-fsfreeze-freeze", "guest-fsfreeze-freeze-list", "guest-fsfreeze-thaw", "guest-fstrim",
        "guest-set-time", "guest-exec", "guest-set-user-password", "guest-set-vcpus", "guest-set-memory-blocks",
    ];

    private readonly Process _process;
    private readonly StringBuilder _log = new();

    public string Directory { get; }
    public string SocketPath { get; }
    public int Pid => _process.Id;

    private RealAgent(string directory, string workingDirectory)
    {
        Directory = directory;
        SocketPath = Path.Combine(directory, "qga.sock");
        var psi = new ProcessStartInfo(QemuGaPath)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "-m", "unix-listen", "-p", SocketPath, "-t", directory, "-f", Path.Combine(directory, "pid"),
                     "-b", string.Join(',', BlockedCommands),
                 })
        {
            psi.ArgumentList.Add(arg);
        }

        // A config file must not sneak in an allow-list (allow + block together is fatal in 7.2).
        psi.Environment.Remove("QGA_CONF");
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) => AppendLog(e.Data);
        _process.ErrorDataReceived += (_, e) => AppendLog(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public bool HasExited => _process.HasExited;

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    private void AppendLog(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    /// <summary>Starts qemu-ga in a fresh directory, waits for its socket and verifies that every dangerous command is disabled.</summary>
    public static RealAgent Start(string directory, string workingDirectory)
    {
        System.IO.Directory.CreateDirectory(directory);
        var agent = new RealAgent(directory, workingDirectory);
        try
        {
            agent.WaitForSocket(TimeSpan.FromSeconds(10));
            agent.VerifyBlocked();
            return agent;
        }
        catch
        {
            agent.Dispose();
            throw;
        }
    }

    private void WaitForSocket(TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"qemu-ga exited with {_process.ExitCode} during start-up:\n{Log}");
            }

            if (File.Exists(SocketPath))
            {
                return;
            }

            Thread.Sleep(10);
        }

        throw new TimeoutException($"qemu-ga did not create {SocketPath}:\n{Log}");
    }

    /// <summary>
    /// Safety net: asks guest-info (a harmless command) and refuses to go on unless every dangerous
    /// command is listed with "enabled": false. The exchange is complete, so it leaves the parser clean.
    /// </summary>
    private void VerifyBlocked()
    {
        var request = Encoding.UTF8.GetBytes("{\"execute\":\"guest-info\"}");
        var result = AgentClient.Exchange(SocketPath, [request], expectedLines: 1, writeDelay: TimeSpan.Zero);
        if (result.Lines.Count != 1)
        {
            throw new InvalidOperationException($"guest-info safety check got {result.Lines.Count} lines:\n{Log}");
        }

        using var doc = JsonDocument.Parse(result.Lines[0]);
        var enabled = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var cmd in doc.RootElement.GetProperty("return").GetProperty("supported_commands").EnumerateArray())
        {
            enabled[cmd.GetProperty("name").GetString()!] = cmd.GetProperty("enabled").GetBoolean();
        }

        foreach (var name in BlockedCommands)
        {
            if (!enabled.TryGetValue(name, out var on) || on)
            {
                throw new InvalidOperationException($"SAFETY: {name} is not disabled in qemu-ga (pid {Pid}); refusing to continue.");
            }
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: false); // our own PID only
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }

        _process.Dispose();
    }
}

/// <summary>The bytes that came back over one client connection.</summary>
internal sealed record ExchangeResult(byte[] Raw, IReadOnlyList<byte[]> Lines, bool ExtraAfterWait);

internal static class AgentClient
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Connects a fresh client, sends each write (pausing between them), collects replies until
    /// <paramref name="expectedLines"/> lines arrived or 500 ms pass with nothing new, then half-closes
    /// and reads to EOF so that no unread reply is left behind when the connection closes.
    /// </summary>
    public static ExchangeResult Exchange(string socketPath, IReadOnlyList<byte[]> writes, int? expectedLines, TimeSpan writeDelay)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        Connect(socket, socketPath);

        var received = new MemoryStream();
        var gate = new object();
        var lastByteAt = Stopwatch.StartNew();
        var eof = false;

        var reader = new Thread(() =>
        {
            var buffer = new byte[65536];
            try
            {
                while (true)
                {
                    var n = socket.Receive(buffer);
                    lock (gate)
                    {
                        if (n == 0)
                        {
                            eof = true;
                            Monitor.PulseAll(gate);
                            return;
                        }

                        received.Write(buffer, 0, n);
                        lastByteAt.Restart();
                        Monitor.PulseAll(gate);
                    }
                }
            }
            catch (SocketException)
            {
                lock (gate)
                {
                    eof = true;
                    Monitor.PulseAll(gate);
                }
            }
            catch (ObjectDisposedException)
            {
                lock (gate)
                {
                    eof = true;
                    Monitor.PulseAll(gate);
                }
            }
        })
        { IsBackground = true };
        reader.Start();

        for (var i = 0; i < writes.Count; i++)
        {
            if (i > 0 && writeDelay > TimeSpan.Zero)
            {
                Thread.Sleep(writeDelay);
            }

            var data = writes[i];
            var sent = 0;
            while (sent < data.Length)
            {
                sent += socket.Send(data, sent, data.Length - sent, SocketFlags.None);
            }
        }

        lock (gate)
        {
            lastByteAt.Restart();
            while (!eof)
            {
                if (expectedLines is int want && CountLines(received) >= want)
                {
                    break;
                }

                var idle = IdleTimeout - lastByteAt.Elapsed;
                if (idle <= TimeSpan.Zero)
                {
                    break;
                }

                Monitor.Wait(gate, idle);
            }
        }

        long beforeDrain;
        lock (gate)
        {
            beforeDrain = received.Length;
        }

        // Half-close and read to EOF: qemu-ga answers everything it has already read before it sees EOF.
        try
        {
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // peer already gone
        }

        var drain = Stopwatch.StartNew();
        lock (gate)
        {
            while (!eof && drain.Elapsed < DrainTimeout)
            {
                Monitor.Wait(gate, TimeSpan.FromMilliseconds(50));
            }
        }

        byte[] raw;
        lock (gate)
        {
            raw = received.ToArray();
        }

        socket.Close();
        reader.Join(1000);
        return new ExchangeResult(raw, SplitLines(raw), raw.Length != beforeDrain);
    }

    private static void Connect(Socket socket, string socketPath)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                socket.Connect(new UnixDomainSocketEndPoint(socketPath));
                return;
            }
            catch (SocketException) when (sw.Elapsed < TimeSpan.FromSeconds(5))
            {
                Thread.Sleep(10);
            }
        }
    }

    private static int CountLines(MemoryStream stream)
    {
        var buffer = stream.GetBuffer();
        var count = 0;
        for (var i = 0; i < stream.Length; i++)
        {
            if (buffer[i] == (byte)'\n')
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>Each line keeps its trailing \n (and a leading 0xFF when present); a trailing partial line is kept as is.</summary>
    public static IReadOnlyList<byte[]> SplitLines(byte[] raw)
    {
        var lines = new List<byte[]>();
        var start = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] == (byte)'\n')
            {
                lines.Add(raw[start..(i + 1)]);
                start = i + 1;
            }
        }

        if (start < raw.Length)
        {
            lines.Add(raw[start..]);
        }

        return lines;
    }
}
