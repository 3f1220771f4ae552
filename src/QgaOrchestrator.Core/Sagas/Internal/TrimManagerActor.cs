using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;

namespace QgaOrchestrator.Core.Sagas.Internal;

/// <summary>INTERNAL API. Parent of the <see cref="FleetTrim"/> actors (<c>trim-{id}</c>) and their in-memory index.</summary>
internal sealed class TrimManagerActor : ReceiveActor
{
    private readonly IActorRef _fleet;
    private readonly TimeSpan _requestTimeout;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private ImmutableDictionary<string, TrimManager.TrimSummary> _trims = ImmutableDictionary<string, TrimManager.TrimSummary>.Empty;

    public TrimManagerActor(IActorRef fleet, TimeSpan requestTimeout)
    {
        _fleet = fleet;
        _requestTimeout = requestTimeout;
        Receive<TrimManager.StartTrim>(OnStart);
        Receive<FleetTrim.Finished>(f =>
        {
            if (!_trims.TryGetValue(f.SagaId, out var t)) return;
            _trims = _trims.SetItem(f.SagaId, t with { Results = f.Results, Paths = f.Paths, EndedAt = DateTimeOffset.UtcNow });
            _log.Info("Trim {SagaId} finished: {Failed} of {Count} failed", f.SagaId, f.Results.Count(r => r.Value is not null), f.Results.Count);
        });
        Receive<TrimManager.ListTrims>(l => l.ReplyTo.Tell(new TrimManager.TrimList(_trims.Values.OrderBy(t => t.StartedAt).ToList())));
        Receive<TrimManager.GetTrim>(g => g.ReplyTo.Tell(_trims.TryGetValue(g.SagaId, out var t) ? t : new TrimManager.UnknownTrim(g.SagaId)));
    }

    private void OnStart(TrimManager.StartTrim s)
    {
        var name = "trim-" + s.SagaId;
        if (_trims.ContainsKey(s.SagaId) || !ActorPath.IsValidPathElement(name))
        {
            s.ReplyTo.Tell(new TrimManager.TrimRejected(s.SagaId, _trims.ContainsKey(s.SagaId) ? "saga id already used" : "invalid saga id"));
            return;
        }
        if (s.VmIds.Count == 0)
        {
            s.ReplyTo.Tell(new TrimManager.TrimRejected(s.SagaId, "the group selects no VM"));
            return;
        }
        _trims = _trims.Add(s.SagaId, new TrimManager.TrimSummary(s.SagaId, DateTimeOffset.UtcNow, s.VmIds, ImmutableDictionary<string, string?>.Empty, null));
        var trim = Context.ActorOf(FleetTrim.Props(s.SagaId, _fleet, _requestTimeout), name);
        trim.Tell(new FleetTrim.Start(s.SagaId, s.VmIds, s.Concurrency, s.Minimum, Self));
        s.ReplyTo.Tell(new TrimManager.TrimAccepted(s.SagaId));
    }
}
