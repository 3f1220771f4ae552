using Akka.Actor;
using QgaOrchestrator.Core.Sagas;

namespace QgaOrchestrator.SagaCrashHost;

/// <summary>
/// Completes the given task when the saga journals its end. A resumed saga tells only the manager, but every
/// journaled event is published as <see cref="FreezeSnapshotThaw.Progressed"/>. The caller subscribes it to the event
/// stream before the saga manager starts.
/// </summary>
public sealed class SagaEndWatcher : ReceiveActor
{
    public static Props Props(string sagaId, TaskCompletionSource ended) => Akka.Actor.Props.Create(() => new SagaEndWatcher(sagaId, ended));

    public SagaEndWatcher(string sagaId, TaskCompletionSource ended)
    {
        Receive<FreezeSnapshotThaw.Progressed>(p => p.SagaId == sagaId && p.State.IsEnded, _ => ended.TrySetResult());
        ReceiveAny(_ => { });
    }
}
