using System.Collections.Immutable;
using System.Text.Json;
using Akka.Actor;
using QgaOrchestrator.Core.Sagas.Internal;

namespace QgaOrchestrator.Core.Sagas;

/// <summary>
/// Fleet <c>guest-fstrim</c> with a concurrency limit (PersistenceId <c>trim-{SagaId}</c>). Trim is
/// idempotent, so recovery simply re-sends the trims that were in flight and continues.
/// </summary>
public static class FleetTrim
{
    public sealed record Start(string SagaId, IReadOnlyList<string> VmIds, int Concurrency, long? Minimum, IActorRef ReplyTo);

    public sealed record Finished(string SagaId, IReadOnlyDictionary<string, string?> Results);

    public interface ITrimEvent { string SagaId { get; } }
    public sealed record TrimStarted(string SagaId, IReadOnlyList<string> VmIds, int Concurrency, long? Minimum) : ITrimEvent;
    public sealed record TrimRequested(string SagaId, string VmId) : ITrimEvent;
    public sealed record VmTrimmed(string SagaId, string VmId, string? Error) : ITrimEvent;
    public sealed record TrimEnded(string SagaId) : ITrimEvent;

    /// <summary>Pure state: Decide returns the events for a reply; Apply folds them.</summary>
    public sealed record State(
        string SagaId,
        ImmutableList<string> Queue,
        ImmutableHashSet<string> InFlight,
        ImmutableDictionary<string, string?> Done,
        int Concurrency,
        long? Minimum,
        bool Ended)
    {
        public static readonly State Empty = new("", [], [], ImmutableDictionary<string, string?>.Empty, 1, null, false);

        public State Apply(ITrimEvent e) => e switch
        {
            TrimStarted s => this with { SagaId = s.SagaId, Queue = [.. s.VmIds.Distinct()], Concurrency = Math.Max(1, s.Concurrency), Minimum = s.Minimum },
            TrimRequested r => this with { Queue = Queue.Remove(r.VmId), InFlight = InFlight.Add(r.VmId) },
            VmTrimmed t => this with { InFlight = InFlight.Remove(t.VmId), Done = Done.SetItem(t.VmId, t.Error) },
            TrimEnded => this with { Ended = true },
            _ => this,
        };

        public IReadOnlyList<ITrimEvent> DecideStart(Start s)
        {
            if (SagaId != "") return [];
            var st = Apply(new TrimStarted(s.SagaId, s.VmIds, s.Concurrency, s.Minimum));
            return [new TrimStarted(s.SagaId, s.VmIds.ToList(), s.Concurrency, s.Minimum), .. st.Fill()];
        }

        public IReadOnlyList<ITrimEvent> DecideReply(string vmId, string? error)
        {
            if (Ended || !InFlight.Contains(vmId)) return [];
            var e = new VmTrimmed(SagaId, vmId, error);
            return [e, .. Apply(e).Fill()];
        }

        private IEnumerable<ITrimEvent> Fill()
        {
            var free = Concurrency - InFlight.Count;
            foreach (var vm in Queue.Take(Math.Max(0, free))) yield return new TrimRequested(SagaId, vm);
            if (Queue.IsEmpty && InFlight.IsEmpty && !Ended) yield return new TrimEnded(SagaId);
        }
    }

    public static Props Props(string sagaId, IActorRef fleet, TimeSpan requestTimeout) =>
        Akka.Actor.Props.Create(() => new FleetTrimActor(sagaId, fleet, requestTimeout));

    internal static JsonElement? Arguments(long? minimum) => minimum is null ? null :
        JsonSerializer.SerializeToElement(new Protocol.Qga.GuestFstrimArguments { Minimum = minimum }, Protocol.Qga.QgaCommands.GuestFstrim.ArgumentsType);
}
