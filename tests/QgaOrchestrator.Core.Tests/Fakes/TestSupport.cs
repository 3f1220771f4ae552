using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Akka.Actor;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol;
using QgaOrchestrator.Protocol.Qga;

namespace QgaOrchestrator.Core.Tests.Fakes;

public static class TestSupport
{
    /// <summary>The repository root: the first directory above the test binaries holding config/fleet.sample.json.</summary>
    public static string RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "config", "fleet.sample.json"))) return dir.FullName;
            throw new DirectoryNotFoundException("repository root not found above " + AppContext.BaseDirectory);
        }
    }

    public const string TestSchedulerConfig = """
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.loglevel = WARNING
        """;

    /// <summary>The next request the agent parses, waiting at most <paramref name="seconds"/>.</summary>
    public static async Task<AgentRequest> NextAsync(this Channel<AgentRequest> requests, double seconds = 5)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        return await requests.Reader.ReadAsync(cts.Token);
    }

    /// <summary>The next request other than the sync handshake.</summary>
    public static async Task<AgentRequest> NextCommandAsync(this Channel<AgentRequest> requests, double seconds = 5)
    {
        while (true)
        {
            var r = await requests.NextAsync(seconds);
            if (r.Execute != "guest-sync-delimited") return r;
        }
    }

    public static Vm.Execute Ping(string vm, string requestId, IActorRef replyTo, TimeSpan? timeout = null) =>
        new(vm, QgaCommands.GuestPing, null, requestId, replyTo, timeout);

    public static Vm.Execute Sync(string vm, long id, string requestId, IActorRef replyTo, TimeSpan? timeout = null) =>
        new(vm, QgaCommands.GuestSync, JsonDocument.Parse($"{{\"id\": {id}}}").RootElement.Clone(), requestId, replyTo, timeout);

    public static Vm.Execute Command(string vm, QgaCommandDescriptor command, string requestId, IActorRef replyTo, string? args = null, TimeSpan? timeout = null) =>
        new(vm, command, args is null ? null : JsonDocument.Parse(args).RootElement.Clone(), requestId, replyTo, timeout);
}

/// <summary>
/// Debian's qemu-ga on a unix socket in a temp dir, with every dangerous command blocked. In
/// unix-listen mode qemu-ga can exit when a client disconnects with a reply still pending (seen under
/// the chaos proxy's disconnects); like a guest's service manager, the fixture then starts it again
/// on the same socket, so the channel also meets agent restarts.
/// </summary>
public sealed class QemuGaProcess : IAsyncDisposable
{
    public const string Binary = "/usr/sbin/qemu-ga";
    public const string Blocked =
        "guest-shutdown,guest-suspend-disk,guest-suspend-ram,guest-suspend-hybrid,guest-fsfreeze-freeze,guest-fsfreeze-freeze-list," +
        "guest-fsfreeze-thaw,guest-fstrim,guest-set-time,guest-exec,guest-set-user-password,guest-set-vcpus,guest-set-memory-blocks";

    private readonly string _dir;
    private readonly object _gate = new();
    private Process _process = null!;
    private bool _disposed;
    private int _restarts;

    private QemuGaProcess(string dir)
    {
        _dir = dir;
        SocketPath = Path.Combine(dir, "qga.sock");
    }

    public string SocketPath { get; }

    public int Restarts => Volatile.Read(ref _restarts);

    public static async Task<QemuGaProcess> StartAsync()
    {
        var ga = new QemuGaProcess(Directory.CreateTempSubdirectory("qemu-ga-").FullName);
        await ga.LaunchAsync();
        return ga;
    }

    private async Task LaunchAsync()
    {
        File.Delete(SocketPath);
        File.Delete(Path.Combine(_dir, "pid"));
        using var watcher = new FileSystemWatcher(_dir) { EnableRaisingEvents = true };
        var created = new TaskCompletionSource();
        watcher.Created += (_, e) => { if (e.FullPath == SocketPath) created.TrySetResult(); };
        var psi = new ProcessStartInfo(Binary)
        {
            ArgumentList = { "-m", "unix-listen", "-p", SocketPath, "-t", _dir, "-f", Path.Combine(_dir, "pid"), "-b", Blocked },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        var process = Process.Start(psi)!;
        lock (_gate) _process = process;
        if (!File.Exists(SocketPath)) await created.Task.WaitAsync(TimeSpan.FromSeconds(10));
        _ = RestartWhenItExitsAsync(process);
    }

    private async Task RestartWhenItExitsAsync(Process process)
    {
        await process.WaitForExitAsync();
        lock (_gate)
            if (_disposed) return;
        Interlocked.Increment(ref _restarts);
        await LaunchAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Process process;
        lock (_gate)
        {
            _disposed = true;
            process = _process;
        }
        try
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
        }
        process.Dispose();
        Directory.Delete(_dir, true);
    }
}

public sealed class QemuGaFactAttribute : FactAttribute
{
    public QemuGaFactAttribute()
    {
        if (!File.Exists(QemuGaProcess.Binary)) Skip = $"{QemuGaProcess.Binary} is not installed (apt-get install qemu-guest-agent)";
    }
}

/// <summary>
/// Our own agent (env QGA_AGENT_BIN, else artifacts/bin/qga-agent) on a unix socket, started with
/// qemu-ga's flags and the same blocked list.
/// </summary>
public sealed class QgaAgentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private QgaAgentProcess(Process process, string dir, string socket)
    {
        _process = process;
        _dir = dir;
        SocketPath = socket;
    }

    public string SocketPath { get; }

    public static string? BinaryPath
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("QGA_AGENT_BIN");
            if (!string.IsNullOrEmpty(env)) return File.Exists(env) ? env : null;
            const string local = "/work/main/artifacts/bin/qga-agent";
            var repo = Path.Combine(TestSupport.RepoRoot, "artifacts", "bin", "qga-agent");
            return File.Exists(repo) ? repo : File.Exists(local) ? local : null;
        }
    }

    /// <summary>Null when it is there and answers a ping within 5 s; else why it counts as absent.</summary>
    public static readonly Lazy<string?> Unavailable = new(() =>
    {
        if (BinaryPath is null) return "qga-agent not built (set QGA_AGENT_BIN or build artifacts/bin/qga-agent)";
        try
        {
            var agent = StartAsync().GetAwaiter().GetResult();
            try
            {
                using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                socket.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(agent.SocketPath), cts.Token).AsTask().GetAwaiter().GetResult();
                socket.Send("{\"execute\": \"guest-ping\"}\n"u8);
                var buffer = new byte[256];
                int n = socket.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None, cts.Token).AsTask().GetAwaiter().GetResult();
                return n > 0 && System.Text.Encoding.UTF8.GetString(buffer, 0, n).Contains("\"return\"", StringComparison.Ordinal)
                    ? null : "qga-agent does not answer guest-ping";
            }
            finally
            {
                agent.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException or System.Net.Sockets.SocketException or IOException or System.ComponentModel.Win32Exception)
        {
            return $"qga-agent does not answer guest-ping within 5 s ({e.GetType().Name})";
        }
    });

    /// <param name="socketPath">Where to listen (e.g. a Proxmox-style <c>qemu-server/123.qga</c>); default: in the agent's temp dir.</param>
    public static async Task<QgaAgentProcess> StartAsync(string? socketPath = null)
    {
        var dir = Directory.CreateTempSubdirectory("qga-agent-").FullName;
        var socket = socketPath ?? Path.Combine(dir, "qga.sock");
        using var watcher = new FileSystemWatcher(Path.GetDirectoryName(socket)!) { EnableRaisingEvents = true };
        var created = new TaskCompletionSource();
        watcher.Created += (_, e) => { if (e.FullPath == socket) created.TrySetResult(); };
        // qga-agent binds under a temporary name and renames it into place once it listens.
        watcher.Renamed += (_, e) => { if (e.FullPath == socket) created.TrySetResult(); };
        var psi = new ProcessStartInfo(BinaryPath!)
        {
            ArgumentList = { "-m", "unix-listen", "-p", socket, "-t", dir, "-b", QemuGaProcess.Blocked },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        var process = Process.Start(psi)!;
        var result = new QgaAgentProcess(process, dir, socket);
        try
        {
            if (!File.Exists(socket)) await created.Task.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch
        {
            await result.DisposeAsync();
            throw;
        }
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        Directory.Delete(_dir, true);
    }
}

public sealed class QgaAgentFactAttribute : FactAttribute
{
    public QgaAgentFactAttribute()
    {
        if (QgaAgentProcess.Unavailable.Value is { } why) Skip = why;
    }
}
