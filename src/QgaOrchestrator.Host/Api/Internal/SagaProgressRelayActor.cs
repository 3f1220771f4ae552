using System.Threading.Channels;
using Akka.Actor;
using QgaOrchestrator.Core.Sagas;

namespace QgaOrchestrator.Host.Api.Internal;

/// <summary>
/// INTERNAL API. Lives as long as one event-stream connection: takes the <see cref="FreezeSnapshotThaw.Progressed"/>
/// of one saga off the EventStream and hands them to the HTTP response through a channel (never blocks).
/// </summary>
internal sealed class SagaProgressRelayActor : ReceiveActor
{
    private readonly string _sagaId;
    private readonly ChannelWriter<FreezeSnapshotThaw.Progressed> _out;

    public SagaProgressRelayActor(string sagaId, ChannelWriter<FreezeSnapshotThaw.Progressed> output)
    {
        _sagaId = sagaId;
        _out = output;
        Receive<FreezeSnapshotThaw.Progressed>(p => p.SagaId == _sagaId, p => _out.TryWrite(p));
    }

    public static Props Props(string sagaId, ChannelWriter<FreezeSnapshotThaw.Progressed> output) =>
        Akka.Actor.Props.Create(() => new SagaProgressRelayActor(sagaId, output));

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(FreezeSnapshotThaw.Progressed));

    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
        _out.TryComplete();
    }
}
