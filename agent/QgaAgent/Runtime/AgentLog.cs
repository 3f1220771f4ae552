using System.Globalization;

namespace QgaAgent.Runtime;

/// <summary>
/// qemu-ga's slog/g_log lines ("SECONDS.USEC: level: message") to the log file or stderr.
/// Suspended while filesystems are frozen so the agent never blocks writing to a frozen fs.
/// </summary>
internal sealed class AgentLog
{
    private readonly object _lock = new();
    private readonly string? _path;
    private TextWriter? _writer;
    private bool _enabled = true;

    public AgentLog(string? path, bool verbose)
    {
        _path = path;
        Verbose = verbose;
    }

    public bool Verbose { get; }

    public bool Enabled { get { lock (_lock) return _enabled; } }

    /// <summary>Stops all writes (and closes the file) until <see cref="Resume"/>.</summary>
    public void Suspend()
    {
        lock (_lock)
        {
            _enabled = false;
            if (_writer is not null && _path is not null) { _writer.Dispose(); _writer = null; }
        }
    }

    public void Resume()
    {
        lock (_lock) _enabled = true;
    }

    public void Info(string message) => Write("info", message);
    public void Warning(string message) => Write("warning", message);
    public void Error(string message) => Write("error", message);
    public void Debug(string message) { if (Verbose) Write("debug", message); }

    private void Write(string level, string message)
    {
        lock (_lock)
        {
            if (!_enabled) return;
            try
            {
                _writer ??= _path is null ? Console.Error : new StreamWriter(new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
                long us = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / 10;
                _writer.Write(string.Create(CultureInfo.InvariantCulture, $"{us / 1_000_000}.{us % 1_000_000}: {level}: {message}\n"));
                _writer.Flush();
            }
            catch (IOException)
            {
                // A log that cannot be written must not take the agent down.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
