using Akka.Actor;
using QgaOrchestrator.Core.Sagas.Internal;

namespace QgaOrchestrator.Core.Sagas;

/// <summary>
/// The protocol of one power saga (PersistenceId <c>power-{SagaId}</c>): suspend (ram/disk/hybrid),
/// resume, or shutdown (powerdown/halt/reboot) of a group of VMs, with a per-VM outcome and timeline.
/// Normally driven by <see cref="SagaManager"/>; the domain logic is <see cref="PowerSagaState"/>.
/// </summary>
public static class PowerSaga
{
    /// <param name="Timeout">Per VM: how long QEMU has to confirm (shutdown: the grace; again for the fallback). Null: the operation's default.</param>
    /// <param name="Fallback">Shutdown powerdown/halt only: QMP <c>system_powerdown</c> when the agent is missing, refuses, or the grace passes.</param>
    public sealed record Start(
        string SagaId,
        IReadOnlyList<string> VmIds,
        PowerOperation Operation,
        TimeSpan? Timeout = null,
        bool Fallback = false,
        PowerGroupPolicy Policy = PowerGroupPolicy.FailGroup,
        IActorRef? ReplyTo = null);

    /// <summary>Stop now: unsent VMs are skipped, VMs awaiting confirmation fail as "state unknown".</summary>
    public sealed record Abort(string SagaId, string Reason);

    public sealed record GetState(string SagaId, IActorRef ReplyTo);

    public sealed record CurrentState(string SagaId, PowerSagaState State);

    /// <summary>PowerSagaStarted is journaled (the reply to <see cref="Start"/>).</summary>
    public sealed record Started(string SagaId);

    public sealed record Finished(string SagaId, SagaOutcome Outcome, string? Reason, PowerSagaState State);

    public sealed record Settings
    {
        public static readonly Settings Default = new();

        /// <summary>Timeout of each check and status query sent to a VM.</summary>
        public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(5);

        /// <summary>How often query-status is asked while a VM awaits confirmation (events usually come first).</summary>
        public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

        public TimeProvider Clock { get; init; } = TimeProvider.System;

        /// <summary>Name of the journal plugin (null = default).</summary>
        public string? JournalPluginId { get; init; }
    }

    /// <param name="notify">Gets <see cref="Finished"/> even after a restart (the manager).</param>
    public static Props Props(string sagaId, IActorRef fleet, Settings settings, IActorRef? notify = null) =>
        Akka.Actor.Props.Create(() => new PowerSagaActor(sagaId, fleet, settings, notify));

    public static string PersistenceIdOf(string sagaId) => $"power-{sagaId}";
}
