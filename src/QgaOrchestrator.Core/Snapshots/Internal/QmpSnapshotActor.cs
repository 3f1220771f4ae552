using System.Buffers;
using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol.Qmp;

namespace QgaOrchestrator.Core.Snapshots.Internal;

/// <summary>
/// INTERNAL API. Per VM: <c>query-named-block-nodes</c>, then one snapshot transaction on the top of each
/// configured disk's chain, and reports each transaction's reply. The configured node-name is the disk as QEMU
/// booted it; after a first snapshot it is the overlay's backing node, and QEMU refuses to snapshot a backing
/// node ("Node 'disk0' is busy"), so every later snapshot must address the overlay on top of it.
/// With <see cref="SnapshotRequest.WaitForGo"/> the actor is created when the saga starts: it reads the block
/// graphs (read-only, before any freeze) and encodes the transactions while the group freezes, and sends a
/// transaction only on <see cref="SnapshotGo"/>. Everything it reports waits for go, too.
/// </summary>
internal sealed class QmpSnapshotActor : ReceiveActor
{
    private const string GraphPrefix = "nodes:";
    private const string TransactionPrefix = "snap:";
    private static readonly JsonElement FlatArguments = JsonDocument.Parse("""{"flat": true}""").RootElement.Clone();

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly QmpSnapshotProvider _provider;
    private readonly SnapshotRequest _request;
    private readonly IActorRef _fleet;
    private readonly IActorRef _replyTo;

    private readonly HashSet<string> _graphAsked = new(StringComparer.Ordinal);              // queried, not yet answered
    private readonly HashSet<string> _graphRead = new(StringComparer.Ordinal);              // answered: what is prepared is on the chain's top
    private readonly Dictionary<string, string> _unreachable = new(StringComparer.Ordinal);  // vm → why its graph could not be read
    private readonly Dictionary<string, JsonElement> _prepared = new(StringComparer.Ordinal);
    private readonly HashSet<string> _goAwaitingGraph = new(StringComparer.Ordinal);        // targets whose graph is still out
    private readonly HashSet<string> _sent = new(StringComparer.Ordinal);                   // transactions awaiting their reply
    private bool _went;

    public QmpSnapshotActor(QmpSnapshotProvider provider, SnapshotRequest request, IActorRef fleet, IActorRef replyTo)
    {
        _provider = provider;
        _request = request;
        _fleet = fleet;
        _replyTo = replyTo;

        AskGraphs(request.VmIds);
        // Encoded now on the configured nodes, in one document (~12 ms for 1,000 VMs, before any freeze); a graph
        // that shows an overlay on top re-encodes only that VM.
        Encode(request.VmIds.Where(HasDisks).ToList());
        Receive<Vm.QmpExecuted>(r => r.RequestId.StartsWith(GraphPrefix, StringComparison.Ordinal) && _graphAsked.Remove(r.VmId), OnGraph);
        Receive<Vm.QmpExecuted>(r => r.RequestId.StartsWith(TransactionPrefix, StringComparison.Ordinal) && _sent.Remove(r.VmId), OnTransaction);
        Receive<FleetManager.UnknownVm>(OnUnknownVm);
        if (request.WaitForGo) Receive<SnapshotGo>(g => g.SagaId == request.SagaId && !_went, g => Go(g.VmIds));
        else Go(request.VmIds);
    }

    /// <summary>
    /// The <c>transaction</c> arguments (the JSON of <see cref="TransactionArguments"/>) snapshotting every disk of each
    /// VM, in order, on the node given for it. Written directly into ONE document parsed once: SerializeToElement per VM
    /// cost ~15 µs, mostly the per-document parse (15 ms of a 1,000-VM group's freeze window). The elements share the
    /// document, which is never disposed: they travel to the VMs' channels, and an undisposed document only leaves its
    /// pooled index to the GC.
    /// </summary>
    internal static IReadOnlyList<JsonElement> Transactions(QmpSnapshotProvider provider, string sagaId, string name,
        IReadOnlyList<(string Vm, IReadOnlyList<string> Disks, IReadOnlyList<string> Nodes)> vms)
    {
        var buffer = new ArrayBufferWriter<byte>(256 * vms.Count + 16);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var (vm, disks, nodes) in vms)
            {
                w.WriteStartObject();
                w.WriteStartArray(ActionsProperty);
                for (var i = 0; i < disks.Count; i++)
                {
                    w.WriteStartObject();
                    w.WriteString(TypeProperty, BlockdevSnapshotSyncType);
                    w.WriteStartObject(DataProperty);
                    w.WriteString(NodeNameProperty, nodes[i]);
                    w.WriteString(SnapshotFileProperty, provider.OverlayPath(sagaId, vm, disks[i], name));
                    w.WriteString(SnapshotNodeNameProperty, $"{disks[i]}-{name}");
                    w.WriteString(FormatProperty, "qcow2");
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        var result = new List<JsonElement>(vms.Count);
        foreach (var e in JsonDocument.Parse(buffer.WrittenMemory).RootElement.EnumerateArray()) result.Add(e);
        return result;
    }

    private static readonly JsonEncodedText ActionsProperty = JsonEncodedText.Encode("actions");
    private static readonly JsonEncodedText TypeProperty = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText BlockdevSnapshotSyncType = JsonEncodedText.Encode("blockdev-snapshot-sync");
    private static readonly JsonEncodedText DataProperty = JsonEncodedText.Encode("data");
    private static readonly JsonEncodedText NodeNameProperty = JsonEncodedText.Encode("node-name");
    private static readonly JsonEncodedText SnapshotFileProperty = JsonEncodedText.Encode("snapshot-file");
    private static readonly JsonEncodedText SnapshotNodeNameProperty = JsonEncodedText.Encode("snapshot-node-name");
    private static readonly JsonEncodedText FormatProperty = JsonEncodedText.Encode("format");

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

    private static string? Describe(Vm.QmpExecuted r) => r.Error?.ToString() ?? (r.Failure is { } f ? $"{f.Kind}: {f.Reason}" : null);

    private bool HasDisks(string vm) => _request.Disks.TryGetValue(vm, out var d) && d.Count > 0;

    private bool Known(string vm) => _graphAsked.Contains(vm) || _graphRead.Contains(vm) || _unreachable.ContainsKey(vm);

    private void AskGraphs(IEnumerable<string> vms)
    {
        foreach (var vm in vms)
        {
            if (!HasDisks(vm) || Known(vm)) continue;
            _graphAsked.Add(vm);
            _fleet.Tell(new Vm.ExecuteQmp(vm, QmpCommands.QueryNamedBlockNodes, FlatArguments, GraphPrefix + vm, Self, _provider.Timeout));
        }
    }

    private void OnGraph(Vm.QmpExecuted r)
    {
        var vm = r.VmId;
        if (r.Failure is not null)
        {
            var why = Describe(r)!; // the monitor is unreachable: the transaction would fail the same way
            if (_goAwaitingGraph.Remove(vm)) Report(vm, why);
            else _unreachable[vm] = why;
            return;
        }
        var disks = _request.Disks[vm];
        var tops = r.Error is null && r.Return is { ValueKind: JsonValueKind.Array } graph ? TopsOf(graph, disks) : null;
        // Every QEMU since 2.0 answers with the graph; without it the configured nodes are tried (Debug: per VM).
        if (tops is null && _log.IsDebugEnabled) _log.Debug("Snapshot {SagaId} {VmId}: no block graph from query-named-block-nodes ({Error}); snapshotting the configured nodes", _request.SagaId, vm, Describe(r));
        _graphRead.Add(vm);
        if (tops is not null && disks.Any(d => tops[d] != d)) Encode([vm], [.. disks.Select(d => tops[d])]);
        if (_goAwaitingGraph.Remove(vm)) Send(vm);
    }

    /// <summary>Prepares the transactions of <paramref name="vms"/> on their configured nodes, or of one VM on <paramref name="nodes"/>.</summary>
    private void Encode(IReadOnlyList<string> vms, IReadOnlyList<string>? nodes = null)
    {
        var batch = vms.Select(vm => (vm, _request.Disks[vm], nodes ?? _request.Disks[vm])).ToList();
        if (batch.Count == 0) return;
        var elements = Transactions(_provider, _request.SagaId, _request.Name, batch);
        for (var i = 0; i < batch.Count; i++) _prepared[batch[i].vm] = elements[i];
    }

    private void Go(IReadOnlyList<string> targets)
    {
        _went = true;
        var unforeseen = targets.Where(vm => HasDisks(vm) && !Known(vm)).ToList();
        AskGraphs(unforeseen);
        Encode(unforeseen);
        foreach (var vm in targets)
        {
            if (!HasDisks(vm)) Report(vm, "no disks configured for a QMP snapshot");
            else if (_unreachable.TryGetValue(vm, out var why)) Report(vm, why);
            else if (_graphRead.Contains(vm)) Send(vm);
            else _goAwaitingGraph.Add(vm); // sent once its graph is read: the configured node may be a busy backing node
        }
        foreach (var vm in _prepared.Keys.Where(vm => !_goAwaitingGraph.Contains(vm)).ToList()) _prepared.Remove(vm);
    }

    private void Send(string vm)
    {
        var element = _prepared[vm];
        _prepared.Remove(vm);
        _sent.Add(vm);
        _fleet.Tell(new Vm.ExecuteQmp(vm, QmpCommands.Transaction, element, TransactionPrefix + vm, Self, _provider.Timeout));
    }

    private void OnTransaction(Vm.QmpExecuted r)
    {
        var error = Describe(r);
        // one line per VM of a 1,000-VM group on the saga's critical path: only failures at Warning
        if (error is not null) _log.Warning("Snapshot transaction {SagaId} {VmId} failed: {Error}", _request.SagaId, r.VmId, error);
        else if (_log.IsDebugEnabled) _log.Debug("Snapshot transaction {SagaId} {VmId} done", _request.SagaId, r.VmId);
        _replyTo.Tell(new SnapshotResult(_request.SagaId, r.VmId, error));
    }

    private void OnUnknownVm(FleetManager.UnknownVm u)
    {
        var why = "unknown VM: " + u.Reason;
        if (_sent.Remove(u.VmId) || _goAwaitingGraph.Remove(u.VmId)) Report(u.VmId, why);
        else if (_graphAsked.Remove(u.VmId)) _unreachable[u.VmId] = why; // reported on go, if it is a target
    }

    private void Report(string vm, string? error) => _replyTo.Tell(new SnapshotResult(_request.SagaId, vm, error));
}
