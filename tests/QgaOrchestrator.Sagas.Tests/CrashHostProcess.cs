using System.Diagnostics;
using System.Text;

namespace QgaOrchestrator.Sagas.Tests;

/// <summary>One run of QgaOrchestrator.SagaCrashHost (built next to the tests): its stdout lines, awaited as they arrive.</summary>
internal sealed class CrashHostProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly StringBuilder _stderr = new();
    private readonly SemaphoreSlim _lineArrived = new(0);
    private volatile bool _outputClosed;

    private CrashHostProcess(IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "QgaOrchestrator.SagaCrashHost"))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) _outputClosed = true; // the process is gone
            else lock (_lines) _lines.Add(e.Data);
            _lineArrived.Release();
        };
        _process.ErrorDataReceived += (_, e) => { lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static CrashHostProcess Start(IEnumerable<string> args) => new(args);

    public IReadOnlyList<string> Lines { get { lock (_lines) return [.. _lines]; } }

    public string Transcript => string.Join('\n', Lines) + "\nstderr:\n" + StdErr;

    private string StdErr { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>Waits until the lines so far satisfy <paramref name="done"/>; fails with the transcript otherwise.</summary>
    public async Task WaitForAsync(Func<IReadOnlyList<string>, bool> done, TimeSpan timeout, string what)
    {
        var until = DateTime.UtcNow + timeout;
        while (!done(Lines))
        {
            var left = until - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || _outputClosed) Assert.Fail($"host never reached '{what}':\n{Transcript}");
            await _lineArrived.WaitAsync(left);
        }
    }

    /// <summary>SIGKILL: no shutdown code of any kind runs.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { Assert.Fail($"host did not exit within {timeout}:\n{Transcript}"); }
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
        _lineArrived.Dispose();
    }
}
