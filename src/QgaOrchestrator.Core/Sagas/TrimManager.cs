using Akka.Actor;
using QgaOrchestrator.Core.Sagas.Internal;

namespace QgaOrchestrator.Core.Sagas;

/// <summary>
/// The protocol of the trim manager (<c>/user/trims</c>): starts <see cref="FleetTrim"/> sagas under ids and
/// answers for them while this process runs. Each trim journals its own progress; the index is in memory
/// (a trim is idempotent and never holds a guest in a state that needs undoing).
/// </summary>
public static class TrimManager
{
    public sealed record StartTrim(string SagaId, IReadOnlyList<string> VmIds, int Concurrency, long? Minimum, IActorRef ReplyTo);

    public sealed record TrimAccepted(string SagaId);

    public sealed record TrimRejected(string SagaId, string Reason);

    public sealed record ListTrims(IActorRef ReplyTo);

    public sealed record TrimList(IReadOnlyList<TrimSummary> Trims);

    public sealed record GetTrim(string SagaId, IActorRef ReplyTo);

    public sealed record UnknownTrim(string SagaId);

    /// <summary>One trim: its VMs, the results so far (VmId → error, null = trimmed), each VM's per-mount results, and whether it ended.</summary>
    public sealed record TrimSummary(
        string SagaId,
        DateTimeOffset StartedAt,
        IReadOnlyList<string> VmIds,
        IReadOnlyDictionary<string, string?> Results,
        DateTimeOffset? EndedAt,
        IReadOnlyDictionary<string, IReadOnlyList<FleetTrim.TrimmedPath>>? Paths = null);

    public const string ActorName = "trims";

    public static Props Props(IActorRef fleet, TimeSpan requestTimeout) =>
        Akka.Actor.Props.Create(() => new TrimManagerActor(fleet, requestTimeout));
}
