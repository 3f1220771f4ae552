using System.Collections.Concurrent;
using System.Diagnostics;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Vm.Tests.Infrastructure;

/// <summary>How the guest agent reaches the host.</summary>
public enum AgentChannel
{
    VirtioSerial,
    IsaSerial,
    Vsock,
}

/// <summary>
/// One QEMU guest booted by tools/vm/boot-vm.sh in the foreground (the script execs QEMU, so the
/// child's PID is QEMU's), in its own temp dir. Readiness is the console line the guest's init prints
/// before it starts the agent; Dispose kills QEMU by PID and deletes the dir.
/// </summary>
public sealed class QemuVm : IAsyncDisposable
{
    public const string AgentStartingLine = "guest: agent starting";
    public const uint VsockPort = 1234;

    private readonly Process _process;
    private readonly Process? _bridge;
    private readonly ConcurrentQueue<string> _console = new();
    private readonly TaskCompletionSource _agentStarting = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private QemuVm(string id, string dir, AgentChannel channel, Process process, Process? bridge)
    {
        Id = id;
        Dir = dir;
        Channel = channel;
        _process = process;
        _bridge = bridge;
        _process.OutputDataReceived += (_, e) => OnConsole(e.Data);
        _process.ErrorDataReceived += (_, e) => OnConsole(e.Data is null ? null : "qemu: " + e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Exited = _process.WaitForExitAsync();
        _ = Exited.ContinueWith(_ => _agentStarting.TrySetException(
            new InvalidOperationException($"{id}: QEMU exited ({_process.ExitCode}) before the agent started:\n{ConsoleText}")), TaskScheduler.Default);
    }

    public string Id { get; }

    public string Dir { get; }

    public AgentChannel Channel { get; }

    public int Pid => _process.Id;

    public string QgaSocket => Path.Combine(Dir, Channel == AgentChannel.Vsock ? "vsock-bridge.sock" : "qga.sock");

    public string QmpSocket => Path.Combine(Dir, "qmp.sock");

    public string Disk => Path.Combine(Dir, "disk.qcow2");

    public string Mac { get; private init; } = "";

    /// <summary>Completes when QEMU has exited (shutdown, kill, crash).</summary>
    public Task Exited { get; }

    /// <summary>From process start to the guest's "agent starting" console line.</summary>
    public TimeSpan? BootTime { get; private set; }

    public string ConsoleText => string.Join('\n', _console);

    public VmConfig Config => new() { Id = Id, QgaSocket = QgaSocket, QmpSocket = QmpSocket, Disks = ["disk0"] };

    /// <summary>
    /// Starts QEMU; <paramref name="index"/> picks a distinct MAC (and vsock CID). A
    /// <paramref name="suspendable"/> guest boots the bzImage (slower, but it survives S3).
    /// </summary>
    public static QemuVm Start(string imageDir, string id, AgentChannel channel, int index, bool suspendable = false)
    {
        var dir = Directory.CreateTempSubdirectory($"qga-vm-{id}-").FullName;
        var mac = $"52:54:00:00:42:{index:x2}";
        var cid = (uint)(100 + index);
        var psi = new ProcessStartInfo("bash", [Path.Combine(VmRequirements.ToolsDir, "boot-vm.sh"), imageDir, dir])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true, // QEMU's stdio chardev reads a pipe, never the runner's stdin
        };
        psi.Environment["QGA_VM_FOREGROUND"] = "1";
        psi.Environment["QGA_VM_PROBE"] = "0"; // the 100 ms writer costs CPU under TCG; the tests write themselves
        psi.Environment["QGA_VM_MAC"] = mac;
        psi.Environment["QGA_VM_SUSPEND"] = suspendable ? "1" : "0";
        psi.Environment["QGA_VM_CHANNEL"] = channel switch
        {
            AgentChannel.IsaSerial => "isa",
            AgentChannel.Vsock => $"vsock:{cid}",
            _ => "virtio",
        };
        psi.Environment["QGA_VM_VSOCK_PORT"] = VsockPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Process? bridge = null;
        if (channel == AgentChannel.Vsock)
        {
            // .NET has no AF_VSOCK endpoint: socat turns each unix connection into a vsock connection.
            bridge = Process.Start(new ProcessStartInfo("socat", [$"UNIX-LISTEN:{Path.Combine(dir, "vsock-bridge.sock")},fork", $"VSOCK-CONNECT:{cid}:{VsockPort}"])
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
            });
        }
        var process = Process.Start(psi)!;
        return new QemuVm(id, dir, channel, process, bridge) { Mac = mac };
    }

    public async Task WaitForAgentStartingAsync(TimeSpan timeout)
    {
        try
        {
            await _agentStarting.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Id}: no '{AgentStartingLine}' within {timeout.TotalSeconds:0} s:\n{ConsoleText}");
        }
    }

    private void OnConsole(string? line)
    {
        if (line is null) return;
        line = line.TrimEnd('\r');
        _console.Enqueue(line);
        if (line.StartsWith(AgentStartingLine, StringComparison.Ordinal))
        {
            BootTime ??= _clock.Elapsed;
            _agentStarting.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in new[] { _process, _bridge })
        {
            if (p is null) continue;
            try
            {
                if (!p.HasExited) p.Kill();
                await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
            {
            }
            p.Dispose();
        }
        try
        {
            Directory.Delete(Dir, true);
        }
        catch (IOException)
        {
        }
    }
}
