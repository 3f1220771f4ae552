using System.Text.Json;
using Akka.Actor;
using QgaOrchestrator.Protocol;

namespace QgaOrchestrator.Core.Vms;

/// <summary>
/// The typed face of <see cref="Vm.Execute"/>: build a request from any schema command
/// (<c>QgaCommands.GuestFsfreezeFreezeList</c>, ...) with its typed arguments, and read the reply
/// back as the command's result type.
/// </summary>
public static class VmRequests
{
    public static Vm.Execute Create<TArgs, TResult>(
        string vmId, QgaCommand<TArgs, TResult> command, TArgs arguments, string requestId, IActorRef replyTo, TimeSpan? timeout = null)
    {
        JsonElement? args = arguments is null or NoArguments ? null : JsonSerializer.SerializeToElement(arguments, command.ArgumentsType);
        return new Vm.Execute(vmId, command, args, requestId, replyTo, timeout);
    }

    public static Vm.Execute Create<TResult>(
        string vmId, QgaCommand<NoArguments, TResult> command, string requestId, IActorRef replyTo, TimeSpan? timeout = null) =>
        new(vmId, command, null, requestId, replyTo, timeout);

    /// <summary>The typed result of a successful reply; false with a reason otherwise.</summary>
    public static bool TryGetResult<TArgs, TResult>(this Vm.Executed executed, QgaCommand<TArgs, TResult> command, out TResult? result, out string? problem)
    {
        result = default;
        if (executed.Failure is { } f)
        {
            problem = $"{f.Kind}: {f.Reason}";
            return false;
        }
        if (executed.Error is { } e)
        {
            problem = e.ToString();
            return false;
        }
        return new QgaReply(executed.Return, null, null, false).TryGetResult(command, out result, out problem);
    }
}
