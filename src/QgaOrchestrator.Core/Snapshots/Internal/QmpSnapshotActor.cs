using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol.Qmp;

namespace QgaOrchestrator.Core.Snapshots.Internal;

/// <summary>INTERNAL API. Sends one snapshot transaction per VM and reports each reply.</summary>
internal sealed class QmpSnapshotActor : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public QmpSnapshotActor(QmpSnapshotProvider provider, SnapshotRequest request, IActorRef fleet, IActorRef replyTo)
    {
        var pending = new HashSet<string>();
        foreach (var vm in request.VmIds)
        {
            if (!request.Disks.TryGetValue(vm, out var disks) || disks.Count == 0)
            {
                replyTo.Tell(new SnapshotResult(request.SagaId, vm, "no disks configured for a QMP snapshot"));
                continue;
            }
            var args = new TransactionArguments
            {
                Actions = disks.Select(d => new TransactionAction
                {
                    Type = "blockdev-snapshot-sync",
                    Data = new BlockdevSnapshotSync
                    {
                        NodeName = d,
                        SnapshotFile = provider.OverlayPath(request.SagaId, vm, d, request.Name),
                        SnapshotNodeName = $"{d}-{request.Name}",
                    },
                }).ToList(),
            };
            var element = JsonSerializer.SerializeToElement(args, QmpJsonContext.Default.TransactionArguments);
            pending.Add(vm);
            fleet.Tell(new Vm.ExecuteQmp(vm, QmpCommands.Transaction, element, $"snap:{vm}", Self, provider.Timeout));
        }

        Receive<Vm.QmpExecuted>(r => pending.Remove(r.VmId), r =>
        {
            var error = r.Error?.ToString() ?? (r.Failure is { } f ? $"{f.Kind}: {f.Reason}" : null);
            // one line per VM of a 1,000-VM group on the saga's critical path: only failures at Warning
            if (error is not null) _log.Warning("Snapshot transaction {SagaId} {VmId} failed: {Error}", request.SagaId, r.VmId, error);
            else if (_log.IsDebugEnabled) _log.Debug("Snapshot transaction {SagaId} {VmId} done", request.SagaId, r.VmId);
            replyTo.Tell(new SnapshotResult(request.SagaId, r.VmId, error));
        });
        Receive<FleetManager.UnknownVm>(u => pending.Remove(u.VmId), u =>
            replyTo.Tell(new SnapshotResult(request.SagaId, u.VmId, "unknown VM: " + u.Reason)));
    }
}
