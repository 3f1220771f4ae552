using System.Text.Json;
using Akka.Actor;
using QgaOrchestrator.Core.Channel;
using QgaOrchestrator.Core.Vms.Internal;
using QgaOrchestrator.Protocol;

namespace QgaOrchestrator.Core.Vms;

/// <summary>
/// The protocol of a VM actor: what other actors (the fleet, sagas, the API) may ask of one VM.
/// Every request names its VM, carries a RequestId and an explicit ReplyTo, and always gets exactly
/// one reply: a result, a guest error, or a failure saying why there is none.
/// </summary>
public static class Vm
{
    /// <summary>Every message addressed to one VM; the fleet routes it by <see cref="VmId"/>.</summary>
    public interface IVmMessage
    {
        string VmId { get; }
    }

    /// <summary>Why a request has no reply from the guest or QEMU.</summary>
    public enum FailureKind
    {
        /// <summary>No reply before the request's deadline (the channel resyncs after this).</summary>
        Timeout,
        /// <summary>The socket is missing, refused, or no agent answers the sync handshake.</summary>
        Unreachable,
        /// <summary>The channel broke while the request was in flight (EOF, garbage, over-limit reply).</summary>
        ChannelBroken,
        /// <summary>The request itself was refused before sending (unknown command, bad arguments, VM being removed).</summary>
        Rejected,
    }

    public sealed record Failure(FailureKind Kind, string Reason);

    // ---- guest agent (QGA) --------------------------------------------------------------

    /// <summary>
    /// Runs one schema command in the guest. <paramref name="Arguments"/> is the JSON object of its
    /// arguments (null for none). <paramref name="Timeout"/> overrides the command's default.
    /// Commands without a success response (shutdown, suspend) complete when QEMU reports the
    /// matching event or the channel closes.
    /// </summary>
    public sealed record Execute(
        string VmId,
        QgaCommandDescriptor Command,
        JsonElement? Arguments,
        string RequestId,
        IActorRef ReplyTo,
        TimeSpan? Timeout = null) : IVmMessage;

    /// <summary>The one reply to <see cref="Execute"/>: exactly one of Return, Error, Failure is set.</summary>
    public sealed record Executed(
        string VmId,
        string RequestId,
        string Command,
        JsonElement? Return,
        QgaError? Error,
        Failure? Failure) : IVmMessage
    {
        public bool Succeeded => Error is null && Failure is null;
    }

    /// <summary>
    /// Re-sync the guest channel (<c>guest-sync-delimited</c>) before the next request, e.g. after a
    /// wakeup from suspend. No reply; a request sent after it waits for the handshake. The VM also
    /// does this by itself on QEMU's WAKEUP event.
    /// </summary>
    public sealed record ResyncGuest(string VmId, string Reason) : IVmMessage;

    // ---- QEMU monitor (QMP) --------------------------------------------------------------

    /// <summary>Runs one QMP command (e.g. <c>transaction</c>, <c>query-status</c>, <c>system_wakeup</c>).</summary>
    public sealed record ExecuteQmp(
        string VmId,
        string Command,
        JsonElement? Arguments,
        string RequestId,
        IActorRef ReplyTo,
        TimeSpan? Timeout = null) : IVmMessage;

    /// <summary>The one reply to <see cref="ExecuteQmp"/>: exactly one of Return, Error, Failure is set.</summary>
    public sealed record QmpExecuted(
        string VmId,
        string RequestId,
        string Command,
        JsonElement? Return,
        QgaError? Error,
        Failure? Failure) : IVmMessage
    {
        public bool Succeeded => Error is null && Failure is null;
    }

    /// <summary>Asks for every QMP event of this VM to be sent to <paramref name="Subscriber"/> until it stops.</summary>
    public sealed record SubscribeEvents(string VmId, IActorRef Subscriber) : IVmMessage;

    public sealed record UnsubscribeEvents(string VmId, IActorRef Subscriber) : IVmMessage;

    /// <summary>A QMP event of this VM (SHUTDOWN, SUSPEND, RESUME, WAKEUP, RESET, STOP, ...).</summary>
    public sealed record QmpEvent(string VmId, string Name, JsonElement? Data, DateTimeOffset Timestamp) : IVmMessage;

    // ---- status --------------------------------------------------------------------------

    public sealed record GetStatus(string VmId, IActorRef ReplyTo) : IVmMessage;

    /// <summary>What the orchestrator knows of one VM now.</summary>
    public sealed record Status(
        string VmId,
        VmConfig Config,
        bool AgentConnected,
        string? AgentVersion,
        IReadOnlyList<string> EnabledCommands,
        string? FreezeStatus,
        string? RunState,
        bool MonitorConnected,
        string? LastError) : IVmMessage;

    // ---- actor ---------------------------------------------------------------------------

    /// <summary>How a VM actor runs its channels; the socket paths and VmId come from its <see cref="VmConfig"/>.</summary>
    public sealed record Settings
    {
        public static readonly Settings Default = new();

        /// <summary>Template for the QGA channel (VmId and SocketPath are replaced per VM).</summary>
        public GuestChannel.Settings Guest { get; init; } = new() { VmId = "", SocketPath = "" };

        /// <summary>Template for the QMP channel (VmId and SocketPath are replaced per VM).</summary>
        public MonitorChannel.Settings Monitor { get; init; } = new() { VmId = "", SocketPath = "" };

        /// <summary>Ask <c>guest-info</c> (and the freeze status) each time the agent becomes ready.</summary>
        public bool QueryAgentOnConnect { get; init; } = true;

        /// <summary>Channel restarts allowed within <see cref="RestartWindow"/> before the channel is stopped.</summary>
        public int MaxChannelRestarts { get; init; } = 10;

        public TimeSpan RestartWindow { get; init; } = TimeSpan.FromMinutes(1);

        /// <summary>A channel stopped by supervision is created again after this.</summary>
        public TimeSpan RecreateChannelAfter { get; init; } = TimeSpan.FromSeconds(30);
    }

    public static Akka.Actor.Props Props(VmConfig config, Settings? settings = null) =>
        Akka.Actor.Props.Create(() => new VmActor(config, settings ?? Settings.Default));
}

/// <summary>Where a VM's configuration came from: fleet.json, or discovery of a libvirt or Proxmox socket.</summary>
public enum VmSource
{
    Fleet,
    Libvirt,
    Proxmox,
}

/// <summary>One VM as configured (fleet.json) or discovered.</summary>
public sealed record VmConfig
{
    public required string Id { get; init; }

    /// <summary>The host side of the guest agent channel (a QEMU chardev unix socket).</summary>
    public required string QgaSocket { get; init; }

    /// <summary>The QMP monitor socket; null when the VM has none configured.</summary>
    public string? QmpSocket { get; init; }

    /// <summary>Block node names to snapshot (QMP <c>blockdev-snapshot-sync</c> by node-name).</summary>
    public IReadOnlyList<string> Disks { get; init; } = [];

    /// <summary>Free-form labels for group selection (e.g. tier=db).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>fleet.json, or the hypervisor stack whose sockets discovery found.</summary>
    public VmSource Source { get; init; } = VmSource.Fleet;
}
