using Akka.Actor;
using QgaOrchestrator.Core.Sagas.Internal;

namespace QgaOrchestrator.Core.Sagas;

/// <summary>
/// The protocol of the saga manager (<c>/user/sagas</c>, PersistenceId <c>saga-manager</c>): starts sagas
/// under ids, keeps a persistent index of them, resumes unfinished ones when it starts (their recovery
/// thaws anything maybe frozen) and restarts a saga actor that stopped unfinished (e.g. a journal failure).
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

    public sealed record Rejected(string SagaId, string Reason);

    public sealed record ListSagas(IActorRef ReplyTo);

    public sealed record SagaSummary(string SagaId, DateTimeOffset RegisteredAt, SagaOutcome? Outcome);

    public sealed record SagaList(IReadOnlyList<SagaSummary> Sagas);

    /// <summary>Replied with <see cref="FreezeSnapshotThaw.CurrentState"/> (recovered from the journal if needed).</summary>
    public sealed record GetSaga(string SagaId, IActorRef ReplyTo);

    public sealed record UnknownSaga(string SagaId);

    public sealed record SnapshotDone(string SagaId, string? Error = null);

    public sealed record Abort(string SagaId, string Reason);

    // persisted index events
    public interface IIndexEvent;
    public sealed record SagaRegistered(string SagaId, DateTimeOffset At) : IIndexEvent;
    public sealed record SagaFinished(string SagaId, SagaOutcome Outcome, DateTimeOffset At) : IIndexEvent;

    public sealed record Settings
    {
        public FreezeSnapshotThaw.Settings Saga { get; init; } = FreezeSnapshotThaw.Settings.Default;
        public TimeSpan RestartBackoff { get; init; } = TimeSpan.FromSeconds(1);
    }

    public static Props Props(IActorRef fleet, Settings settings) =>
        Akka.Actor.Props.Create(() => new SagaManagerActor(fleet, settings));
}
