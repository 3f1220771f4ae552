namespace QgaAgent.Dispatch;

/// <summary>
/// Which commands may run, in qemu-ga's order: default allow; an allow-list denies everything not
/// listed; the block-list then denies; while frozen only the freeze-safe set runs, over everything.
/// </summary>
internal sealed class FreezeGate
{
    /// <summary>qemu-ga's ga_freeze_allowlist.</summary>
    public static readonly IReadOnlySet<string> FrozenAllowList = new HashSet<string>(StringComparer.Ordinal)
    {
        "guest-ping", "guest-info", "guest-sync", "guest-sync-delimited", "guest-fsfreeze-status", "guest-fsfreeze-thaw",
    };

    private readonly HashSet<string>? _allow;
    private readonly HashSet<string> _block;

    public FreezeGate(IEnumerable<string>? allow, IEnumerable<string> block)
    {
        _allow = allow is null ? null : new HashSet<string>(allow, StringComparer.Ordinal);
        _block = new HashSet<string>(block, StringComparer.Ordinal);
    }

    public volatile bool Frozen;

    public bool IsAllowed(string command)
    {
        bool allowed = _allow is null || _allow.Contains(command);
        if (_block.Contains(command)) allowed = false;
        if (Frozen && !FrozenAllowList.Contains(command)) allowed = false;
        return allowed;
    }

    /// <summary>The CommandNotFound desc for a disabled command (7.2 gives no reason for block/allow lists).</summary>
    public string DisabledDesc(string command) =>
        Frozen && !FrozenAllowList.Contains(command) && (_allow is null || _allow.Contains(command)) && !_block.Contains(command)
            ? $"Command {command} has been disabled: the agent is in frozen state"
            : $"Command {command} has been disabled";
}
