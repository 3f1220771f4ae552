using QgaOrchestrator.Protocol.Qmp;

namespace QgaOrchestrator.Core.Sagas;

/// <summary>
/// What each <see cref="PowerOperation"/> sends, checks first and accepts as confirmation. The guest
/// commands have no success reply (qemu-ga <c>success-response: false</c>), so, as libvirt does, only
/// QEMU's view counts: its events, <c>query-status</c>, or the QEMU process going away.
/// </summary>
public static class PowerOperations
{
    public const string StatusCheck = "status";
    public const string MachineCheck = "machine";
    public const string AgentCheck = "agent";

    public static PowerOperation Of(SuspendMode mode) => mode switch
    {
        SuspendMode.Ram => PowerOperation.SuspendRam,
        SuspendMode.Disk => PowerOperation.SuspendDisk,
        _ => PowerOperation.SuspendHybrid,
    };

    public static PowerOperation Of(ShutdownMode mode) => mode switch
    {
        ShutdownMode.Powerdown => PowerOperation.Powerdown,
        ShutdownMode.Halt => PowerOperation.Halt,
        _ => PowerOperation.Reboot,
    };

    public static bool IsSuspend(this PowerOperation op) => op is PowerOperation.SuspendRam or PowerOperation.SuspendDisk or PowerOperation.SuspendHybrid;

    public static bool IsShutdown(this PowerOperation op) => op is PowerOperation.Powerdown or PowerOperation.Halt or PowerOperation.Reboot;

    /// <summary>ram/hybrid leave the guest in S3: QEMU must be able to wake it (query-current-machine).</summary>
    public static bool NeedsWakeupSupport(this PowerOperation op) => op is PowerOperation.SuspendRam or PowerOperation.SuspendHybrid;

    /// <summary>The ACPI <c>system_powerdown</c> fallback makes sense for powerdown and halt, never for reboot.</summary>
    public static bool AllowsFallback(this PowerOperation op) => op is PowerOperation.Powerdown or PowerOperation.Halt;

    /// <summary>The first command sent to each VM.</summary>
    public static string Command(this PowerOperation op) => op switch
    {
        PowerOperation.SuspendRam => "guest-suspend-ram",
        PowerOperation.SuspendDisk => "guest-suspend-disk",
        PowerOperation.SuspendHybrid => "guest-suspend-hybrid",
        PowerOperation.Resume => QmpCommands.SystemWakeup,
        _ => "guest-shutdown",
    };

    /// <summary>The <c>mode</c> argument of guest-shutdown.</summary>
    public static string? ShutdownModeArgument(this PowerOperation op) => op switch
    {
        PowerOperation.Powerdown => "powerdown",
        PowerOperation.Halt => "halt",
        PowerOperation.Reboot => "reboot",
        _ => null,
    };

    public static bool IsQmpCommand(string command) => command is QmpCommands.SystemWakeup or QmpCommands.SystemPowerdown;

    public static IReadOnlyList<string> Checks(this PowerOperation op) => op switch
    {
        PowerOperation.Resume => [StatusCheck],
        PowerOperation.SuspendRam or PowerOperation.SuspendHybrid => [StatusCheck, MachineCheck, AgentCheck],
        _ => [StatusCheck, AgentCheck],
    };

    public static TimeSpan DefaultTimeout(this PowerOperation op) => op switch
    {
        PowerOperation.SuspendDisk or PowerOperation.SuspendHybrid => TimeSpan.FromMinutes(5),
        PowerOperation.Resume => TimeSpan.FromSeconds(30),
        _ => TimeSpan.FromSeconds(60),
    };

    /// <summary>The run state the operation ends in, when query-status can show it (reboot cannot).</summary>
    public static string? TargetRunState(this PowerOperation op) => op switch
    {
        PowerOperation.SuspendRam or PowerOperation.SuspendHybrid => "suspended",
        PowerOperation.SuspendDisk or PowerOperation.Powerdown or PowerOperation.Halt => "shutdown",
        PowerOperation.Resume => "running",
        _ => null,
    };

    /// <summary>A VM already there is skipped, not failed (nothing needs sending).</summary>
    public static bool AlreadyDone(this PowerOperation op, string runState) => op switch
    {
        PowerOperation.Reboot => false,
        _ => op.TargetRunState() == runState,
    };

    /// <summary>Disk suspend and powerdown/halt may end with QEMU exiting (no -no-shutdown): the monitor going away confirms.</summary>
    public static bool ConfirmedByExit(this PowerOperation op) => op is PowerOperation.SuspendDisk or PowerOperation.Powerdown or PowerOperation.Halt;

    /// <summary>The evidence a QMP event gives for <paramref name="op"/>, or null when it proves nothing.</summary>
    public static string? ConfirmingEvent(this PowerOperation op, string name, bool? portOpen) => (op, name) switch
    {
        (PowerOperation.SuspendRam or PowerOperation.SuspendHybrid, "SUSPEND") => "SUSPEND event",
        (PowerOperation.SuspendDisk, "SUSPEND_DISK" or "SHUTDOWN") => name + " event",
        (PowerOperation.Resume, "WAKEUP") => "WAKEUP event",
        (PowerOperation.Powerdown or PowerOperation.Halt, "SHUTDOWN") => "SHUTDOWN event",
        (PowerOperation.Halt, "VSERPORT_CHANGE") when portOpen == false => "guest agent port closed (a halted guest raises no QEMU event)",
        (PowerOperation.Reboot, "RESET") => "RESET event",
        (PowerOperation.Reboot, "SHUTDOWN") => "SHUTDOWN event (QEMU stopped instead of resetting: -no-reboot?)",
        _ => null,
    };
}
