using Akka.Hosting;
using QgaOrchestrator.Core.Sagas;

namespace QgaOrchestrator.Core.Hosting;

/// <summary>ActorRegistry key of the <see cref="SagaManager"/> (<c>/user/sagas</c>).</summary>
public sealed class SagaManagerKey
{
    private SagaManagerKey()
    {
    }
}

/// <summary>ActorRegistry key of the <see cref="TrimManager"/> (<c>/user/trims</c>).</summary>
public sealed class TrimManagerKey
{
    private TrimManagerKey()
    {
    }
}

public static class QgaSagaHostingExtensions
{
    public const string SagaManagerName = "sagas";

    /// <summary>
    /// Starts <c>/user/sagas</c> and <c>/user/trims</c> over the fleet registered by
    /// <see cref="QgaFleetHostingExtensions.WithQgaFleet(AkkaConfigurationBuilder, IReadOnlyList{Vms.VmConfig}, Vms.Vm.Settings?)"/>
    /// (call that first) and registers them under <see cref="SagaManagerKey"/> and <see cref="TrimManagerKey"/>.
    /// </summary>
    public static AkkaConfigurationBuilder WithQgaSagas(this AkkaConfigurationBuilder builder, SagaManager.Settings settings) =>
        builder.WithActors((system, registry) =>
        {
            var fleet = registry.Get<FleetManagerKey>();
            registry.Register<SagaManagerKey>(system.ActorOf(SagaManager.Props(fleet, settings), SagaManagerName));
            registry.Register<TrimManagerKey>(system.ActorOf(TrimManager.Props(fleet, settings.Saga.RequestTimeout), TrimManager.ActorName));
        });
}
