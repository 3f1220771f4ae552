using System.Globalization;
using System.Runtime.InteropServices;
using QgaAgent.Channel;
using QgaAgent.Commands;
using QgaAgent.Commands.Linux;
using QgaAgent.Dispatch;
using QgaAgent.Platform;

namespace QgaAgent.Runtime;

/// <summary>
/// The agent process: builds the command table, restores the frozen state, opens the channel and
/// runs qemu-ga's loop (read, dispatch one request at a time, write). SIGTERM/SIGINT and the
/// self-thaw timer act from their own threads under the dispatcher's lock, so they work while
/// the loop is blocked reading.
/// </summary>
internal sealed class AgentHost : IDisposable
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(5);
    private readonly AgentOptions _options;
    private readonly AgentLog _log;
    private readonly FreezeGate _gate;
    private readonly FileCommands _files;
    private readonly FreezeService _freeze;
    private readonly List<PosixSignalRegistration> _signals = [];
    // Set by the signal path: the main loop's blocked accept/read then fails because Cleanup closed
    // the channel, and must wait for Environment.Exit(0) instead of crashing the process.
    private volatile bool _terminating;
    private IAgentChannel? _channel;
    private bool _pidFileWritten;

    public AgentHost(AgentOptions options)
    {
        _options = options;
        _log = new AgentLog(options.LogFile, options.Verbose);
        _gate = new FreezeGate(options.AllowRpcs, options.BlockRpcs);
        var state = new AgentState(options.StateDir);
        Registry = new CommandRegistry();
        Dispatcher = new Dispatcher(Registry, _gate, _log);
        var fs = new LinuxFsFreezer();
        _files = new FileCommands(state);
        _freeze = new FreezeService(fs, options, state, _log, _gate, Dispatcher.Sync);
        CommonCommands.Register(Registry, _gate);
        _files.Register(Registry);
        _freeze.Register(Registry);
        new PowerCommands(new LinuxSystemPower(), _log).Register(Registry);
        NetworkCommands.Register(Registry);
        FsInfoCommands.Register(Registry, fs);
        if (Registry.Missing() is { Count: > 0 } missing)
            throw new InvalidOperationException("no handler for " + string.Join(", ", missing));
        _freeze.Thawed += WritePidFile;
        _freeze.RestoreFromMarker();
    }

    public CommandRegistry Registry { get; }

    public Dispatcher Dispatcher { get; }

    public int Run()
    {
        if (!_freeze.IsFrozen) WritePidFile();
        foreach (var signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT })
        {
            _signals.Add(PosixSignalRegistration.Create(signal, ctx =>
            {
                ctx.Cancel = true;
                new Thread(Terminate) { IsBackground = true }.Start();
            }));
        }
        // Native, so only the pages a large request actually fills become resident.
        const int InputSize = 64 * 1024;
        Span<byte> input;
        unsafe { input = new Span<byte>(NativeMemory.Alloc(InputSize), InputSize); }
        var output = new ReplyBuffer();
        while (true)
        {
            try
            {
                _channel ??= OpenChannel();
                using var connection = _channel.Accept();
                if (_channel.IsListening) Dispatcher.ResetInput();
                while (true)
                {
                    int n = connection.Read(input);
                    if (n == 0) break;
                    lock (Dispatcher.Sync) Dispatcher.Feed(input[..n], output);
                    if (output.Length > 0)
                    {
                        connection.Write(output.WrittenSpan);
                        output.Trim();
                    }
                }
            }
            catch (Exception) when (_terminating)
            {
                Thread.Sleep(Timeout.Infinite);
            }
            catch (IOException e)
            {
                _log.Error(e.Message);
                _channel?.Dispose();
                _channel = null;
                if (!_options.RetryPath) return 1;
                Thread.Sleep(RetryInterval);
            }
        }
    }

    private IAgentChannel OpenChannel()
    {
        var path = _options.EffectivePath;
        return _options.Method switch
        {
            "unix-listen" => new UnixListenChannel(path),
            "vsock-listen" => new VsockListenChannel(path),
            "isa-serial" => new IsaSerialChannel(path),
            _ => new VirtioSerialChannel(path),
        };
    }

    private void Terminate()
    {
        _terminating = true;
        lock (Dispatcher.Sync)
        {
            _freeze.ThawForExit();
            _files.CloseAll();
            Cleanup();
        }
        Environment.Exit(0);
    }

    private void WritePidFile()
    {
        if (!_options.PidFileGiven || _pidFileWritten) return;
        try
        {
            File.WriteAllText(_options.PidFile, Libc.getpid().ToString(CultureInfo.InvariantCulture) + "\n");
            _pidFileWritten = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Error($"failed to create pidfile: {e.Message}");
        }
    }

    private void Cleanup()
    {
        _channel?.Dispose();
        if (_pidFileWritten)
        {
            try { File.Delete(_options.PidFile); }
            catch (IOException) { }
        }
    }

    public void Dispose()
    {
        foreach (var s in _signals) s.Dispose();
        _freeze.Dispose();
        Cleanup();
    }
}
