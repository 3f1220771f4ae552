using Akka.Actor;
using QgaOrchestrator.Core.Sagas.Internal;

namespace QgaOrchestrator.Core.Sagas;

/// <summary>
/// The protocol of the saga manager (<c>/user/sagas</c>, PersistenceId <c>saga-manager</c>): starts sagas
/// under ids, keeps a persistent index of them, resumes unfinished ones when it starts (their recovery
/// thaws anything maybe frozen, or resumes waiting for a power command's confirmation) and restarts a
/// saga actor that stopped unfinished (e.g. a journal failure).
/// <para>
/// Every Start* names its group by <c>VmIds</c> or a <c>LabelSelector</c> (exactly one) and is answered
/// with <see cref="Rejected"/>, or with the saga's Started (<see cref="FreezeSnapshotThaw.Started"/> /
/// <see cref="PowerSaga.Started"/>) once it is journaled and later its Finished. Saga ids are unique
/// across kinds.
/// </para>
/// </summary>
public static class SagaManager
{
    public sealed record StartFreeze(
        string SagaId,
        SnapshotMode Mode,
        string Name,
        IActorRef ReplyTo,
        IReadOnlyList<string>? VmIds = null,
        IReadOnlyDictionary<string, string>? LabelSelector = null,
        TimeSpan? Deadline = null,
        UnavailablePolicy Policy = UnavailablePolicy.FailGroup,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? Mountpoints = null,
        IReadOnlyList<string>? NoFreezableFs = null);

    /// <summary>Suspend a group; <paramref name="Timeout"/> per VM (null: 60 s ram, 5 min disk/hybrid).</summary>
    public sealed record StartSuspend(
        string SagaId,
        SuspendMode Mode,
        IActorRef ReplyTo,
        IReadOnlyList<string>? VmIds = null,
        IReadOnlyDictionary<string, string>? LabelSelector = null,
        TimeSpan? Timeout = null,
        PowerGroupPolicy Policy = PowerGroupPolicy.FailGroup);

    /// <summary>Wake a suspended group (system_wakeup, then re-sync and ping the agent); <paramref name="Timeout"/> per VM (null: 30 s).</summary>
    public sealed record StartResume(
        string SagaId,
        IActorRef ReplyTo,
        IReadOnlyList<string>? VmIds = null,
        IReadOnlyDictionary<string, string>? LabelSelector = null,
        TimeSpan? Timeout = null,
        PowerGroupPolicy Policy = PowerGroupPolicy.ContinueOthers);

    /// <summary>
    /// Shut a group down with guest-shutdown; <paramref name="Grace"/> per VM (null: 60 s). With
    /// <paramref name="Fallback"/> (powerdown/halt only) QMP system_powerdown follows when the agent is
    /// missing, refuses, or the grace passes, with a second grace.
    /// </summary>
    public sealed record StartShutdown(
        string SagaId,
        ShutdownMode Mode,
        IActorRef ReplyTo,
        IReadOnlyList<string>? VmIds = null,
        IReadOnlyDictionary<string, string>? LabelSelector = null,
        TimeSpan? Grace = null,
        bool Fallback = false,
        PowerGroupPolicy Policy = PowerGroupPolicy.FailGroup);

    public sealed record Rejected(string SagaId, string Reason);

    public sealed record ListSagas(IActorRef ReplyTo);

    public sealed record SagaSummary(string SagaId, DateTimeOffset RegisteredAt, SagaOutcome? Outcome, SagaKind Kind = SagaKind.FreezeSnapshotThaw);

    public sealed record SagaList(IReadOnlyList<SagaSummary> Sagas);

    /// <summary>
    /// Replied with <see cref="FreezeSnapshotThaw.CurrentState"/> or <see cref="PowerSaga.CurrentState"/>
    /// (by kind; recovered from the journal if needed), or <see cref="UnknownSaga"/>.
    /// </summary>
    public sealed record GetSaga(string SagaId, IActorRef ReplyTo);

    public sealed record UnknownSaga(string SagaId);

    /// <summary>External-mode freeze only; a power saga id gets <see cref="Rejected"/>.</summary>
    public sealed record SnapshotDone(string SagaId, string? Error = null);

    /// <summary>Any kind: a freeze saga compensates (thaws); a power saga stops waiting (unsent VMs skipped).</summary>
    public sealed record Abort(string SagaId, string Reason);

    // persisted index events
    public interface IIndexEvent;
    public sealed record SagaRegistered(string SagaId, DateTimeOffset At, SagaKind Kind = SagaKind.FreezeSnapshotThaw) : IIndexEvent;
    public sealed record SagaFinished(string SagaId, SagaOutcome Outcome, DateTimeOffset At) : IIndexEvent;

    public sealed record Settings
    {
        public FreezeSnapshotThaw.Settings Saga { get; init; } = FreezeSnapshotThaw.Settings.Default;
        public PowerSaga.Settings Power { get; init; } = PowerSaga.Settings.Default;
        public TimeSpan RestartBackoff { get; init; } = TimeSpan.FromSeconds(1);
    }

    public static Props Props(IActorRef fleet, Settings settings) =>
        Akka.Actor.Props.Create(() => new SagaManagerActor(fleet, settings));
}

/// <summary>What a saga of the index is; the first value is what older journals (before kinds) mean.</summary>
public enum SagaKind { FreezeSnapshotThaw, Suspend, Resume, Shutdown }
