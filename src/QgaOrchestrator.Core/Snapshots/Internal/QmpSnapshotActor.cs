using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol.Qmp;

namespace QgaOrchestrator.Core.Snapshots.Internal;

/// <summary>
/// INTERNAL API. Per VM: <c>query-named-block-nodes</c>, then one snapshot transaction on the top of each
/// configured disk's chain, and reports each reply. The configured node-name is the disk as QEMU booted it;
/// after a first snapshot it is the overlay's backing node, and QEMU refuses to snapshot a backing node
/// ("Node 'disk0' is busy"), so every later snapshot must address the overlay on top of it.
/// </summary>
internal sealed class QmpSnapshotActor : ReceiveActor
{
    private const string NodesPrefix = "nodes:";
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly QmpSnapshotProvider _provider;
    private readonly SnapshotRequest _request;
    private readonly IActorRef _fleet;
    private readonly IActorRef _replyTo;
    private readonly HashSet<string> _pending = [];

    public QmpSnapshotActor(QmpSnapshotProvider provider, SnapshotRequest request, IActorRef fleet, IActorRef replyTo)
    {
        _provider = provider;
        _request = request;
        _fleet = fleet;
        _replyTo = replyTo;
        foreach (var vm in request.VmIds)
        {
            if (!request.Disks.TryGetValue(vm, out var disks) || disks.Count == 0)
            {
                replyTo.Tell(new SnapshotResult(request.SagaId, vm, "no disks configured for a QMP snapshot"));
                continue;
            }
            _pending.Add(vm);
            fleet.Tell(new Vm.ExecuteQmp(vm, QmpCommands.QueryNamedBlockNodes, FlatArguments, NodesPrefix + vm, Self, provider.Timeout));
        }

        Receive<Vm.QmpExecuted>(r => r.RequestId.StartsWith(NodesPrefix, StringComparison.Ordinal) && _pending.Contains(r.VmId), OnNodes);
        Receive<Vm.QmpExecuted>(r => _pending.Remove(r.VmId), r =>
        {
            var error = Describe(r);
            // one line per VM of a 1,000-VM group on the saga's critical path: only failures at Warning
            if (error is not null) _log.Warning("Snapshot transaction {SagaId} {VmId} failed: {Error}", request.SagaId, r.VmId, error);
            else if (_log.IsDebugEnabled) _log.Debug("Snapshot transaction {SagaId} {VmId} done", request.SagaId, r.VmId);
            replyTo.Tell(new SnapshotResult(request.SagaId, r.VmId, error));
        });
        Receive<FleetManager.UnknownVm>(u => _pending.Remove(u.VmId), u =>
            replyTo.Tell(new SnapshotResult(request.SagaId, u.VmId, "unknown VM: " + u.Reason)));
    }

    private static readonly JsonElement FlatArguments = JsonDocument.Parse("""{"flat": true}""").RootElement.Clone();

    private static string? Describe(Vm.QmpExecuted r) => r.Error?.ToString() ?? (r.Failure is { } f ? $"{f.Kind}: {f.Reason}" : null);

    private void OnNodes(Vm.QmpExecuted r)
    {
        var vm = r.VmId;
        if (r.Failure is not null)
        {
            // The monitor is unreachable: the transaction would fail the same way.
            _pending.Remove(vm);
            _replyTo.Tell(new SnapshotResult(_request.SagaId, vm, Describe(r)));
            return;
        }
        var disks = _request.Disks[vm];
        var tops = r.Error is null && r.Return is { ValueKind: JsonValueKind.Array } nodes ? TopsOf(nodes, disks) : null;
        // Every QEMU since 2.0 answers with the graph; without it the configured nodes are tried (Debug: per VM, critical path).
        if (tops is null && _log.IsDebugEnabled) _log.Debug("Snapshot {SagaId} {VmId}: no block graph from query-named-block-nodes ({Error}); snapshotting the configured nodes", _request.SagaId, vm, Describe(r));
        var args = new TransactionArguments
        {
            Actions = disks.Select(d => new TransactionAction
            {
                Type = "blockdev-snapshot-sync",
                Data = new BlockdevSnapshotSync
                {
                    NodeName = tops?[d] ?? d,
                    SnapshotFile = _provider.OverlayPath(_request.SagaId, vm, d, _request.Name),
                    SnapshotNodeName = $"{d}-{_request.Name}",
                },
            }).ToList(),
        };
        var element = JsonSerializer.SerializeToElement(args, QmpJsonContext.Default.TransactionArguments);
        _fleet.Tell(new Vm.ExecuteQmp(vm, QmpCommands.Transaction, element, $"snap:{vm}", Self, _provider.Timeout));
    }

    /// <summary>
    /// For each configured node, the node on top of its chain: follow "the node whose backing_file is my
    /// file" upwards until none is. A node that is not in the graph stays as configured (QEMU names the error).
    /// </summary>
    internal static Dictionary<string, string> TopsOf(JsonElement nodes, IReadOnlyList<string> disks)
    {
        var all = nodes.EnumerateArray()
            .Where(n => n.TryGetProperty("node-name", out var name) && name.ValueKind == JsonValueKind.String)
            .Select(n => (Name: n.GetProperty("node-name").GetString()!, File: Str(n, "file"), Backing: Str(n, "backing_file")))
            .ToList();
        var tops = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var disk in disks)
        {
            var top = disk;
            for (int depth = 0; depth < all.Count; depth++) // bounded: a cycle cannot loop forever
            {
                var file = all.FirstOrDefault(n => n.Name == top).File;
                var parent = file is null ? default : all.FirstOrDefault(n => n.Backing == file && n.Name != top);
                if (parent.Name is null) break;
                top = parent.Name;
            }
            tops[disk] = top;
        }
        return tops;
    }

    private static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
