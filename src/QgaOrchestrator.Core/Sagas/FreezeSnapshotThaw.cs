using Akka.Actor;
using QgaOrchestrator.Core.Sagas.Internal;
using QgaOrchestrator.Core.Snapshots;

namespace QgaOrchestrator.Core.Sagas;

/// <summary>
/// The protocol of one FreezeSnapshotThaw saga (PersistenceId <c>saga-{SagaId}</c>). Normally driven by
/// <see cref="SagaManager"/>; the domain logic is <see cref="FreezeSnapshotThawState"/>.
/// </summary>
public static class FreezeSnapshotThaw
{
    public interface ISagaCommand
    {
        string SagaId { get; }
    }

    public sealed record Start(
        string SagaId,
        IReadOnlyList<string> VmIds,
        SnapshotMode Mode,
        string Name,
        TimeSpan? Deadline = null,
        UnavailablePolicy Policy = UnavailablePolicy.FailGroup,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? Mountpoints = null,
        IReadOnlyList<string>? NoFreezableFs = null,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? Disks = null,
        IActorRef? ReplyTo = null) : ISagaCommand;

    /// <summary>External mode: the caller's own snapshot is done (or failed); the saga thaws.</summary>
    public sealed record SnapshotDone(string SagaId, string? Error = null) : ISagaCommand;

    public sealed record Abort(string SagaId, string Reason) : ISagaCommand;

    public sealed record GetState(string SagaId, IActorRef ReplyTo) : ISagaCommand;

    public sealed record CurrentState(string SagaId, FreezeSnapshotThawState State);

    /// <summary>SagaStarted is journaled (the reply to <see cref="Start"/>).</summary>
    public sealed record Started(string SagaId);

    /// <summary>External mode: every VM is frozen; take your snapshot now, then send <see cref="SnapshotDone"/>.</summary>
    public sealed record AllFrozen(string SagaId, IReadOnlyList<string> VmIds, DateTimeOffset DeadlineAt);

    public sealed record Finished(string SagaId, SagaOutcome Outcome, string? Reason, FreezeSnapshotThawState State);

    /// <summary>
    /// Published on the actor system's EventStream after each journaled event, with the state it led to,
    /// so watchers (the API's event stream) follow a saga without polling it or joining its protocol.
    /// </summary>
    public sealed record Progressed(string SagaId, IFreezeSagaEvent Event, FreezeSnapshotThawState State);

    public sealed record Settings
    {
        public static readonly Settings Default = new();

        /// <summary>Per-request timeout of status/freeze/thaw sent to a VM.</summary>
        public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);
        public TimeSpan DefaultDeadline { get; init; } = TimeSpan.FromSeconds(30);
        public TimeSpan ThawRetryMin { get; init; } = TimeSpan.FromMilliseconds(200);
        public TimeSpan ThawRetryMax { get; init; } = TimeSpan.FromSeconds(5);
        public ISnapshotProvider? Qmp { get; init; }
        public ISnapshotProvider? Command { get; init; }
        public TimeProvider Clock { get; init; } = TimeProvider.System;
        /// <summary>Name of the journal plugin (null = default).</summary>
        public string? JournalPluginId { get; init; }

        public TimeSpan ThawBackoff(int attempt) =>
            TimeSpan.FromTicks(Math.Min(ThawRetryMax.Ticks, ThawRetryMin.Ticks << Math.Clamp(attempt - 1, 0, 20)));
    }

    /// <param name="notify">Gets <see cref="Finished"/> (and <see cref="AllFrozen"/>) even after a restart (the manager).</param>
    public static Props Props(string sagaId, IActorRef fleet, Settings settings, IActorRef? notify = null) =>
        Akka.Actor.Props.Create(() => new FreezeSnapshotThawActor(sagaId, fleet, settings, notify));

    public static string PersistenceIdOf(string sagaId) => $"saga-{sagaId}";
}
