using Akka.Actor;
using QgaOrchestrator.Core.Channel.Internal;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol.Framing;

namespace QgaOrchestrator.Core.Channel;

/// <summary>
/// The protocol of one QMP connection, <c>/user/fleet/vm-{id}/monitor</c>: greeting, then
/// <c>qmp_capabilities</c>, then commands with ids. Takes <see cref="Vm.ExecuteQmp"/> and answers each
/// with exactly one <see cref="Vm.QmpExecuted"/>; asynchronous events go to the listener as
/// <see cref="Vm.QmpEvent"/>. QEMU is trusted more than a guest, but a malformed frame still drops
/// and reconnects the channel (QMP has no resync).
/// </summary>
public static class MonitorChannel
{
    /// <summary>Told to the listener (the parent unless given) on connect (after negotiation) and disconnect.</summary>
    public sealed record StateChanged(string VmId, bool Connected, string? Reason);

    public sealed record Settings
    {
        public required string VmId { get; init; }

        public required string SocketPath { get; init; }

        public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);

        /// <summary>Greeting plus <c>qmp_capabilities</c> must complete within this.</summary>
        public TimeSpan NegotiationTimeout { get; init; } = TimeSpan.FromSeconds(5);

        public TimeSpan ReconnectMinBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

        public TimeSpan ReconnectMaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

        public TimeSpan RestartDelay { get; init; } = TimeSpan.FromSeconds(1);

        public FramingLimits Limits { get; init; } = new() { MaxMessageBytes = 16 * 1024 * 1024, MaxDepth = 64 };

        public int ReceiveBufferBytes { get; init; } = 8192;

        public TimeSpan DefaultTimeout { get; init; } = TimeSpan.FromSeconds(10);

        public IReadOnlyDictionary<string, TimeSpan> CommandTimeouts { get; init; } = new Dictionary<string, TimeSpan>
        {
            ["transaction"] = TimeSpan.FromSeconds(60),
            ["blockdev-snapshot-sync"] = TimeSpan.FromSeconds(60),
        };

        public TimeSpan TimeoutFor(string command) =>
            CommandTimeouts.TryGetValue(command, out var t) ? t : DefaultTimeout;
    }

    public static Props Props(Settings settings, IActorRef? listener = null) =>
        Akka.Actor.Props.Create(() => new MonitorChannelActor(settings, listener));
}
