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

    /// <summary>Results: VmId → error (null = trimmed); Paths: VmId → what guest-fstrim reported per mount.</summary>
    public sealed record Finished(string SagaId, IReadOnlyDictionary<string, string?> Results, IReadOnlyDictionary<string, IReadOnlyList<TrimmedPath>> Paths);

    /// <summary>One mount of a guest-fstrim reply: bytes trimmed, or the guest's error for that mount.</summary>
    public sealed record TrimmedPath(string Path, long? Trimmed, long? Minimum, string? Error);

    public interface ITrimEvent { string SagaId { get; } }
    public sealed record TrimStarted(string SagaId, IReadOnlyList<string> VmIds, int Concurrency, long? Minimum) : ITrimEvent;
    public sealed record TrimRequested(string SagaId, string VmId) : ITrimEvent;
    /// <summary>Paths: the guest's per-mount results (null when the command itself failed, or journaled before they were kept).</summary>
    public sealed record VmTrimmed(string SagaId, string VmId, string? Error, IReadOnlyList<TrimmedPath>? Paths = null) : ITrimEvent;
    public sealed record TrimEnded(string SagaId) : ITrimEvent;

    /// <summary>Pure state: Decide returns the events for a reply; Apply folds them.</summary>
    public sealed record State(
        string SagaId,
        ImmutableList<string> Queue,
        ImmutableHashSet<string> InFlight,
        ImmutableDictionary<string, string?> Done,
        ImmutableDictionary<string, IReadOnlyList<TrimmedPath>> Paths,
        int Concurrency,
        long? Minimum,
        bool Ended)
    {
        public static readonly State Empty = new("", [], [], ImmutableDictionary<string, string?>.Empty,
            ImmutableDictionary<string, IReadOnlyList<TrimmedPath>>.Empty, 1, null, false);

        public State Apply(ITrimEvent e) => e switch
        {
            TrimStarted s => this with { SagaId = s.SagaId, Queue = [.. s.VmIds.Distinct()], Concurrency = Math.Max(1, s.Concurrency), Minimum = s.Minimum },
            TrimRequested r => this with { Queue = Queue.Remove(r.VmId), InFlight = InFlight.Add(r.VmId) },
            VmTrimmed t => this with
            {
                InFlight = InFlight.Remove(t.VmId),
                Done = Done.SetItem(t.VmId, t.Error),
                Paths = t.Paths is null ? Paths : Paths.SetItem(t.VmId, t.Paths),
            },
            TrimEnded => this with { Ended = true },
            _ => this,
        };

        public IReadOnlyList<ITrimEvent> DecideStart(Start s)
        {
            if (SagaId != "") return [];
            var st = Apply(new TrimStarted(s.SagaId, s.VmIds, s.Concurrency, s.Minimum));
            return [new TrimStarted(s.SagaId, s.VmIds.ToList(), s.Concurrency, s.Minimum), .. st.Fill()];
        }

        /// <summary>
        /// A guest-fstrim reply: <paramref name="error"/> when the command failed, else <paramref name="paths"/>;
        /// a mount the guest could not trim fails the VM with that mount named (qemu-ga reports it as success).
        /// </summary>
        public IReadOnlyList<ITrimEvent> DecideReply(string vmId, string? error, IReadOnlyList<TrimmedPath>? paths = null)
        {
            if (Ended || !InFlight.Contains(vmId)) return [];
            if (error is null && paths?.Where(p => p.Error is not null).ToList() is { Count: > 0 } failed)
                error = "guest-fstrim could not trim " + string.Join("; ", failed.Select(p => $"{p.Path}: {p.Error}"));
            var e = new VmTrimmed(SagaId, vmId, error, paths);
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
