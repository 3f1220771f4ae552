using System.Collections.Concurrent;
using System.Diagnostics;
using QgaOrchestrator.Host.Tests;

namespace QgaOrchestrator.Vm.Tests.Infrastructure;

/// <summary>
/// One run of the real qgaorchd binary (built into this output dir by the project reference) on a config
/// dir written by <see cref="HostConfig"/>: it listens on a port the kernel picks, read from its
/// "Now listening on:" line. <see cref="Kill"/> is SIGKILL by PID; a restart is a new instance on the same dir.
/// </summary>
public sealed class QgaorchdProcess : HostApi, IAsyncDisposable
{
    private const string ListeningPrefix = "Now listening on: ";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _log;

    private QgaorchdProcess(Process process, ConcurrentQueue<string> log, string dir, Uri url)
        : base(url, HostConfig.TokenFile(dir), TimeSpan.FromSeconds(120))
    {
        _process = process;
        _log = log;
        Dir = dir;
    }

    public string Dir { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything the process wrote (its Serilog console), for the test output.</summary>
    public IReadOnlyList<string> LogLines => _log.ToList();

    public static string Binary(string name) => Path.Combine(AppContext.BaseDirectory, name);

    /// <summary>Starts qgaorchd on <paramref name="dir"/> (config and state from an earlier <see cref="HostConfig.Write"/>) and waits until it listens.</summary>
    public static async Task<QgaorchdProcess> StartAsync(string dir)
    {
        var psi = new ProcessStartInfo(Binary("qgaorchd"))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = dir,
        };
        psi.ArgumentList.Add("--config-dir");
        psi.ArgumentList.Add(HostConfig.ConfigDir(dir));
        psi.ArgumentList.Add($"--Orchestrator:StateDir={HostConfig.StateDir(dir)}");
        psi.Environment["DOTNET_gcServer"] = "0";
        var log = new ConcurrentQueue<string>();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        void OnLine(string? line)
        {
            if (line is null) return;
            log.Enqueue(line);
            var at = line.IndexOf(ListeningPrefix, StringComparison.Ordinal);
            if (at >= 0) listening.TrySetResult(new Uri(line[(at + ListeningPrefix.Length)..].Split(' ')[0]));
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException($"qgaorchd exited ({process.ExitCode}) before listening:\n{string.Join('\n', log)}"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var url = await listening.Task.WaitAsync(StartTimeout);
            return new QgaorchdProcess(process, log, dir, url);
        }
        catch
        {
            if (!process.HasExited) process.Kill();
            process.Dispose();
            throw;
        }
    }

    /// <summary>SIGKILL: no shutdown hook, no journal flush beyond what SQLite already has.</summary>
    public async Task KillAsync()
    {
        _process.Kill(); // SIGKILL of this PID on Unix
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Runs the qgaorch CLI binary against this service; returns its exit code and outputs.</summary>
    public async Task<(int Code, string Out, string Err)> CliAsync(TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo(Binary("qgaorch"))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var a in (string[])["--server", Url.ToString(), "--token-file", TokenFile, .. args]) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            await p.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            p.Kill();
            throw new TimeoutException($"qgaorch {string.Join(' ', args)} did not exit within {timeout.TotalSeconds:0} s");
        }
        return (p.ExitCode, await stdout, await stderr);
    }

    /// <summary>SIGTERM and a bounded wait (the host stops its sagas' requests), then SIGKILL.</summary>
    public async ValueTask DisposeAsync()
    {
        Dispose();
        try
        {
            if (!_process.HasExited)
            {
                Shell.Run($"kill -TERM {_process.Id}");
                try
                {
                    await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
                }
                catch (TimeoutException)
                {
                    _process.Kill();
                    await _process.WaitForExitAsync();
                }
            }
        }
        finally
        {
            _process.Dispose();
        }
    }
}
