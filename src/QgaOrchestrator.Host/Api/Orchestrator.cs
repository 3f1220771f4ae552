using Akka.Actor;
using Akka.Hosting;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Hosting;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Host.Configuration;

namespace QgaOrchestrator.Host.Api;

/// <summary>
/// The actors the HTTP edge talks to, and the one way it talks to them: Ask with a deadline (an
/// <see cref="AskTimeoutException"/> becomes a 504 problem). Asks happen only here, at the edge.
/// </summary>
public sealed class Orchestrator(
    ActorSystem system,
    IRequiredActor<FleetManagerKey> fleet,
    IRequiredActor<SagaManagerKey> sagas,
    IRequiredActor<TrimManagerKey> trims,
    OrchestratorOptions options)
{
    public ActorSystem System { get; } = system;

    public OrchestratorOptions Options { get; } = options;

    public Task<IActorRef> FleetAsync(CancellationToken ct) => fleet.GetAsync(ct);

    public Task<IActorRef> SagasAsync(CancellationToken ct) => sagas.GetAsync(ct);

    public Task<IActorRef> TrimsAsync(CancellationToken ct) => trims.GetAsync(ct);

    public async Task<object> AskAsync(Task<IActorRef> target, Func<IActorRef, object> message, CancellationToken ct, TimeSpan? timeout = null)
    {
        var actor = await target;
        return await actor.Ask<object>(message, timeout ?? Options.AskTimeout, ct);
    }

    /// <summary>The VMs configured now (the fleet's view, which may differ from fleet.json after AddVm/RemoveVm).</summary>
    public async Task<IReadOnlyList<VmConfig>> ConfigsAsync(CancellationToken ct) =>
        ((FleetManager.Configs)await AskAsync(FleetAsync(ct), r => new FleetManager.GetConfigs(r), ct)).Vms;
}
