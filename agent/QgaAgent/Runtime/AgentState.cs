using System.Globalization;

namespace QgaAgent.Runtime;

/// <summary>
/// What qemu-ga keeps in its state dir: <c>qga.state</c> (GKeyFile <c>[global] fd_counter</c>, committed on
/// every open) and the <c>qga.state.isfrozen</c> marker that makes a restarted agent start frozen.
/// </summary>
internal sealed class AgentState
{
    public const long DefaultFdCounter = 1000;
    private readonly string _stateFile;

    public AgentState(string stateDir)
    {
        _stateFile = Path.Combine(stateDir, "qga.state");
        FrozenMarker = _stateFile + ".isfrozen";
        FdCounter = Load();
    }

    public string FrozenMarker { get; }

    public long FdCounter { get; private set; }

    public bool MarkerExists => File.Exists(FrozenMarker);

    /// <summary>Hands out the next handle and commits the counter; false with an error text if the commit failed.</summary>
    public long NextHandle(out string? error)
    {
        long handle = FdCounter;
        if (handle == long.MaxValue) throw new InvalidOperationException("fd counter exhausted");
        FdCounter = handle + 1;
        error = null;
        try
        {
            var tmp = _stateFile + ".tmp";
            File.WriteAllText(tmp, Render(FdCounter));
            File.Move(tmp, _stateFile, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = "failed to commit persistent state to disk";
        }
        return handle;
    }

    public void CreateMarker()
    {
        try { File.WriteAllBytes(FrozenMarker, []); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    public void DeleteMarker()
    {
        try { File.Delete(FrozenMarker); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    public static string Render(long counter) => $"[global]\nfd_counter={counter.ToString(CultureInfo.InvariantCulture)}\n";

    private long Load()
    {
        try
        {
            // Never written at start-up: the state dir may sit on a filesystem a previous instance left frozen.
            if (!File.Exists(_stateFile)) return DefaultFdCounter;
            var k = KeyFile.Parse(File.ReadAllText(_stateFile));
            return long.TryParse(k.Get("global", "fd_counter"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : DefaultFdCounter;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return DefaultFdCounter;
        }
    }
}
