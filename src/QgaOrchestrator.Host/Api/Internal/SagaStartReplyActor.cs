using Akka.Actor;
using QgaOrchestrator.Core.Sagas;

namespace QgaOrchestrator.Host.Api.Internal;

/// <summary>
/// INTERNAL API. The ReplyTo of one Start* (freeze or power) from the API: hands Started/Rejected to the
/// HTTP request, then absorbs the saga's later AllFrozen/Finished (which would otherwise be dead letters) until it ends.
/// </summary>
internal sealed class SagaStartReplyActor : ReceiveActor
{
    public SagaStartReplyActor(TaskCompletionSource<object> reply, TimeSpan lifetime)
    {
        SetReceiveTimeout(lifetime);
        Receive<FreezeSnapshotThaw.Started>(s => reply.TrySetResult(s));
        Receive<PowerSaga.Started>(s => reply.TrySetResult(s));
        Receive<SagaManager.Rejected>(r =>
        {
            reply.TrySetResult(r);
            Context.Stop(Self);
        });
        Receive<FreezeSnapshotThaw.AllFrozen>(_ => { });
        Receive<FreezeSnapshotThaw.Finished>(_ => Context.Stop(Self));
        Receive<PowerSaga.Finished>(_ => Context.Stop(Self));
        Receive<ReceiveTimeout>(_ => Context.Stop(Self));
    }

    public static Props Props(TaskCompletionSource<object> reply, TimeSpan lifetime) =>
        Akka.Actor.Props.Create(() => new SagaStartReplyActor(reply, lifetime));
}
