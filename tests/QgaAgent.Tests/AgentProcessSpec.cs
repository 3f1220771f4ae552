using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace QgaAgent.Tests;

/// <summary>Skips when the published agent binary (or qemu-ga, or root) is missing.</summary>
public sealed class AgentBinaryFactAttribute : FactAttribute
{
    public AgentBinaryFactAttribute(bool needsQemuGa = false, bool needsRoot = false)
    {
        if (!File.Exists(AgentProcess.AgentBin)) Skip = $"published agent not found at {AgentProcess.AgentBin} (set QGA_AGENT_BIN)";
        else if (needsQemuGa && !File.Exists("/usr/sbin/qemu-ga")) Skip = "/usr/sbin/qemu-ga is not installed";
        else if (needsRoot && Environment.UserName != "root") Skip = "needs root for loop mounts";
    }
}

/// <summary>An agent process on a unix socket in its own temp dir; killed by PID on dispose.</summary>
internal sealed class AgentProcess : IDisposable
{
    public const string Blocked = "guest-shutdown,guest-suspend-disk,guest-suspend-ram,guest-suspend-hybrid,guest-fsfreeze-freeze,guest-fsfreeze-freeze-list,guest-fsfreeze-thaw,guest-fstrim,guest-set-time,guest-exec,guest-set-user-password,guest-set-vcpus,guest-set-memory-blocks";

    public static string AgentBin => Environment.GetEnvironmentVariable("QGA_AGENT_BIN")
        ?? Path.Combine(RepoRoot(), "artifacts", "bin", "qga-agent");

    private static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "QgaOrchestrator.sln"))) d = d.Parent;
        return d?.FullName ?? "/work/main";
    }

    private readonly Process _process;
    public string Dir { get; }
    public string Socket => Path.Combine(Dir, "qga.sock");

    public AgentProcess(string binary, string dir, params string[] extra)
    {
        Dir = dir;
        var psi = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-m", "unix-listen", "-p", Socket, "-t", Dir }.Concat(extra)) psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!File.Exists(Socket))
        {
            if (DateTime.UtcNow > deadline || _process.HasExited) throw new InvalidOperationException($"{binary} did not create {Socket}");
            Thread.Yield();
        }
    }

    public int Pid => _process.Id;

    public bool WaitForExit(int ms) => _process.WaitForExit(ms);

    public int ExitCode => _process.ExitCode;

    public Client Connect() => new(Socket);

    public void Dispose()
    {
        if (!_process.HasExited) { _process.Kill(); _process.WaitForExit(5000); }
        _process.Dispose();
    }

    internal sealed class Client : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        private readonly List<byte> _buffer = [];

        public Client(string path)
        {
            // The socket file appears at bind(2), a moment before listen(2): refused until then.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (true)
            {
                try { _socket.Connect(new UnixDomainSocketEndPoint(path)); break; }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused && DateTime.UtcNow < deadline) { Thread.Yield(); }
            }
            _socket.ReceiveTimeout = 10000;
        }

        public void Send(byte[] data) => _socket.Send(data);

        public void Send(string text) => Send(Encoding.UTF8.GetBytes(text));

        /// <summary>One reply line (with a leading 0xFF shown as U+00FF).</summary>
        public string ReadLine()
        {
            var chunk = new byte[65536];
            while (true)
            {
                int nl = _buffer.IndexOf((byte)'\n');
                if (nl >= 0)
                {
                    var line = _buffer.GetRange(0, nl).ToArray();
                    _buffer.RemoveRange(0, nl + 1);
                    return line.Length > 0 && line[0] == 0xFF ? "\u00ff" + Encoding.UTF8.GetString(line, 1, line.Length - 1) : Encoding.UTF8.GetString(line);
                }
                int n = _socket.Receive(chunk);
                if (n == 0) throw new IOException("agent closed the connection");
                _buffer.AddRange(chunk.AsSpan(0, n).ToArray());
            }
        }

        public string Call(string request) { Send(request); return ReadLine(); }

        public void Dispose() => _socket.Dispose();
    }
}
