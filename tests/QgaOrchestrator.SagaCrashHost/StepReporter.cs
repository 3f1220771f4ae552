using Akka.Actor;
using QgaOrchestrator.Core.Sagas;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.SagaCrashHost;

/// <summary>
/// Sits between the saga manager and the real fleet and prints every command a saga sends
/// (<c>send VM COMMAND</c>): the saga journals each intent before sending it, so a line means its event is
/// in the journal. Thaws to <c>--hold-thaw</c> VMs are printed as <c>held VM COMMAND</c> and dropped, so the
/// process can be killed after the thaw intent is journaled but before the guest got it.
/// </summary>
internal sealed class StepReporter : ReceiveActor
{
    public static Props Props(IActorRef fleet, IReadOnlySet<string> holdThaw) =>
        Akka.Actor.Props.Create(() => new StepReporter(fleet, holdThaw));

    public StepReporter(IActorRef fleet, IReadOnlySet<string> holdThaw)
    {
        Receive<Vm.Execute>(e =>
        {
            var held = e.Command.Name == "guest-fsfreeze-thaw" && holdThaw.Contains(e.VmId);
            Console.Out.WriteLine($"{(held ? "held" : "send")} {e.VmId} {e.Command.Name}");
            if (!held) fleet.Forward(e);
        });
        ReceiveAny(m => fleet.Forward(m));
    }
}

/// <summary>The saga's reply-to: prints <c>started</c>, <c>all-frozen</c> and <c>finished OUTCOME</c>.</summary>
internal sealed class SagaPrinter : ReceiveActor
{
    public SagaPrinter()
    {
        Receive<FreezeSnapshotThaw.Started>(_ => Console.Out.WriteLine("started"));
        Receive<FreezeSnapshotThaw.AllFrozen>(_ => Console.Out.WriteLine("all-frozen"));
        Receive<FreezeSnapshotThaw.Finished>(f => Console.Out.WriteLine($"finished {f.Outcome}"));
        Receive<SagaManager.Rejected>(r => Console.Out.WriteLine($"rejected {r.Reason}"));
    }
}
