using QgaAgent.Dispatch;
using QgaAgent.Runtime;
using QgaOrchestrator.Protocol;
using QgaOrchestrator.Protocol.Qga;

namespace QgaAgent.Commands.Linux;

/// <summary>How power actions reach the system; a fake in tests.</summary>
internal interface ISystemPower
{
    /// <summary>Exit status of the program, null if it could not run.</summary>
    int? Run(string program, params string[] args);

    string? ReadSysPowerState();

    bool WriteSysPowerState(string mode);
}

internal sealed class LinuxSystemPower : ISystemPower
{
    public int? Run(string program, params string[] args) => ExternalCommand.Run(program, args);

    public string? ReadSysPowerState()
    {
        try { return File.ReadAllText("/sys/power/state"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    public bool WriteSysPowerState(string mode)
    {
        try { File.WriteAllText("/sys/power/state", mode); return true; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }
}

/// <summary>guest-shutdown and guest-suspend-*: no reply on success, qemu-ga's texts on failure.</summary>
internal sealed class PowerCommands(ISystemPower power, AgentLog log)
{
    private enum Suspend { Disk, Ram, Hybrid }

    public void Register(CommandRegistry registry)
    {
        registry.Register(QgaCommands.GuestShutdown, a => { Shutdown(a.Mode); return CommandResult<EmptyReturn>.None(); });
        registry.Register(QgaCommands.GuestSuspendDisk, _ => { DoSuspend(Suspend.Disk); return CommandResult<EmptyReturn>.None(); });
        registry.Register(QgaCommands.GuestSuspendRam, _ => { DoSuspend(Suspend.Ram); return CommandResult<EmptyReturn>.None(); });
        registry.Register(QgaCommands.GuestSuspendHybrid, _ => { DoSuspend(Suspend.Hybrid); return CommandResult<EmptyReturn>.None(); });
    }

    public void Shutdown(string? mode)
    {
        var flag = (mode ?? "powerdown") switch
        {
            "powerdown" => "-P",
            "halt" => "-H",
            "reboot" => "-r",
            _ => throw new CommandFailedException("mode is invalid (valid values are: halt|powerdown|reboot"),
        };
        log.Info($"guest-shutdown called, mode: {mode ?? "powerdown"}");
        var status = power.Run("/sbin/shutdown", "-h", flag, "+0", "hypervisor initiated shutdown");
        if (status is null) throw new CommandFailedException("child process has terminated abnormally");
        if (status != 0) throw new CommandFailedException("child process has failed to shutdown");
    }

    private void DoSuspend(Suspend mode)
    {
        bool supported = false;
        string? error = null;
        var (service, verb) = mode switch
        {
            Suspend.Disk => ("systemd-hibernate.service", "hibernate"),
            Suspend.Ram => ("systemd-suspend.service", "suspend"),
            _ => ("systemd-hybrid-sleep.service", "hybrid-sleep"),
        };
        // systemd: "systemctl status" answers 0..3 (LSB) for a unit that exists.
        if (power.Run("systemctl", "status", service) is >= 0 and <= 3)
        {
            supported = true;
            var rc = power.Run("systemctl", verb);
            if (rc == 0) return;
            error = $"the helper program 'systemctl {verb}' returned an error";
        }
        var (pmArg, pmProgram) = mode switch
        {
            Suspend.Disk => ("--hibernate", "pm-hibernate"),
            Suspend.Ram => ("--suspend", "pm-suspend"),
            _ => ("--suspend-hybrid", "pm-suspend-hybrid"),
        };
        if (power.Run("pm-is-supported", pmArg) == 0)
        {
            supported = true;
            var rc = power.Run(pmProgram);
            if (rc == 0) return;
            error = $"the helper program '{pmProgram}' returned an error";
        }
        if (mode != Suspend.Hybrid)
        {
            var word = mode == Suspend.Disk ? "disk" : "mem";
            if (power.ReadSysPowerState() is { } states && states.Split(' ', '\n').Contains(word))
            {
                supported = true;
                if (power.WriteSysPowerState(word)) return;
                error = "child process has failed to suspend";
            }
        }
        if (!supported) throw new CommandFailedException("the requested suspend mode is not supported by the guest");
        throw new CommandFailedException(error ?? "failed to suspend");
    }
}
