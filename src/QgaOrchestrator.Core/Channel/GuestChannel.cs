using Akka.Actor;
using QgaOrchestrator.Core.Channel.Internal;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol.Framing;

namespace QgaOrchestrator.Core.Channel;

/// <summary>
/// The protocol of one guest agent (QGA) connection, <c>/user/fleet/vm-{id}/guest</c>. It takes
/// <see cref="Vm.Execute"/> and answers each with exactly one <see cref="Vm.Executed"/> to its ReplyTo.
/// Strictly one request is on the wire at a time; the guest is untrusted, so any timeout or
/// unexpected frame resynchronises the channel before the next request is sent.
/// </summary>
public static class GuestChannel
{
    /// <summary>Where the channel is; <see cref="StateChanged"/> reports every change but Ready ↔ Busy.</summary>
    public enum Phase
    {
        Connecting,
        Syncing,
        Ready,
        Busy,
        /// <summary>The socket closed or could not be opened; a reconnect is scheduled.</summary>
        Disconnected,
        /// <summary>Connected, but the sync handshake failed every attempt (no agent, or a broken one).</summary>
        Broken,
    }

    /// <summary>Told to the channel's listener (its parent unless given) when the phase changes.</summary>
    public sealed record StateChanged(string VmId, Phase Phase, string? Reason);

    /// <summary>
    /// QEMU reported a power event (SHUTDOWN, SUSPEND): it completes an in-flight
    /// <c>guest-shutdown</c> / <c>guest-suspend-*</c>, which never get a reply on success.
    /// </summary>
    public sealed record PowerEvent(string Name);

    /// <summary>
    /// Re-run the <c>guest-sync-delimited</c> handshake now (e.g. after the guest woke from suspend,
    /// as the schema recommends); requests sent meanwhile wait for it. A request in flight is failed
    /// (ChannelBroken), a connecting or disconnected channel syncs on connect anyway.
    /// </summary>
    public sealed record Resync(string Reason);

    public sealed record GetState(IActorRef ReplyTo);

    /// <summary>INTERNAL API, for specs: the channel throws an I/O fault, exercising its supervisor.</summary>
    internal sealed record SimulateFault(string Reason);

    public sealed record State(string VmId, Phase Phase, string? LastError, int Queued, bool InFlight);

    public sealed record Settings
    {
        public required string VmId { get; init; }

        public required string SocketPath { get; init; }

        public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);

        /// <summary>How long one <c>guest-sync-delimited</c> attempt waits for its delimited reply.</summary>
        public TimeSpan SyncTimeout { get; init; } = TimeSpan.FromSeconds(2);

        /// <summary>Sync attempts per connection before the channel is Broken (and reconnects later).</summary>
        public int MaxSyncAttempts { get; init; } = 3;

        public TimeSpan ReconnectMinBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

        public TimeSpan ReconnectMaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

        /// <summary>Delay before the first connect after the actor was restarted by its supervisor.</summary>
        public TimeSpan RestartDelay { get; init; } = TimeSpan.FromSeconds(1);

        /// <summary>Bounds on a reply; anything bigger or deeper breaks and resyncs the channel.</summary>
        public FramingLimits Limits { get; init; } = new() { MaxMessageBytes = 16 * 1024 * 1024, MaxDepth = 64 };

        /// <summary>Size of the pooled receive buffer (held only while copying bytes out).</summary>
        public int ReceiveBufferBytes { get; init; } = 8192;

        /// <summary>Requests waiting behind the one in flight; more are rejected.</summary>
        public int MaxQueued { get; init; } = 256;

        public TimeSpan DefaultTimeout { get; init; } = TimeSpan.FromSeconds(10);

        /// <summary>Per-command default timeouts, overridable per request.</summary>
        public IReadOnlyDictionary<string, TimeSpan> CommandTimeouts { get; init; } = DefaultCommandTimeouts;

        /// <summary>The random 63-bit positive sync id source; replaceable so specs can script the agent.</summary>
        public Func<long> NextSyncId { get; init; } = static () => Random.Shared.NextInt64(1, long.MaxValue);

        public TimeSpan TimeoutFor(string command) =>
            CommandTimeouts.TryGetValue(command, out var t) ? t : DefaultTimeout;

        public static readonly IReadOnlyDictionary<string, TimeSpan> DefaultCommandTimeouts = new Dictionary<string, TimeSpan>
        {
            ["guest-ping"] = TimeSpan.FromSeconds(3),
            ["guest-sync"] = TimeSpan.FromSeconds(3),
            ["guest-info"] = TimeSpan.FromSeconds(5),
            ["guest-fsfreeze-status"] = TimeSpan.FromSeconds(5),
            ["guest-fsfreeze-freeze"] = TimeSpan.FromSeconds(60),
            ["guest-fsfreeze-freeze-list"] = TimeSpan.FromSeconds(60),
            ["guest-fsfreeze-thaw"] = TimeSpan.FromSeconds(60),
            ["guest-fstrim"] = TimeSpan.FromMinutes(10),
            ["guest-shutdown"] = TimeSpan.FromSeconds(60),
            ["guest-suspend-disk"] = TimeSpan.FromMinutes(5),
            ["guest-suspend-ram"] = TimeSpan.FromSeconds(60),
            ["guest-suspend-hybrid"] = TimeSpan.FromMinutes(5),
            ["guest-file-read"] = TimeSpan.FromSeconds(30),
            ["guest-file-write"] = TimeSpan.FromSeconds(30),
        };
    }

    /// <param name="listener">Gets <see cref="StateChanged"/>; null means the parent.</param>
    public static Props Props(Settings settings, IActorRef? listener = null) =>
        Akka.Actor.Props.Create(() => new GuestChannelActor(settings, listener));
}
