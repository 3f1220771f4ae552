using System.Text.Json;
using QgaOrchestrator.Core.Snapshots;
using QgaOrchestrator.Core.Snapshots.Internal;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol.Qmp;

namespace QgaOrchestrator.Sagas.Tests;

public sealed class QmpSnapshotActorSpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly QmpSnapshotProvider Provider = new("/snaps");

    private static readonly Dictionary<string, IReadOnlyList<string>> Disks = new()
    {
        ["vm1"] = ["drive0", "drive1"],
        ["vm2"] = ["drive0"],
    };

    /// <summary>vm1 after one earlier snapshot of drive0 (overlay node drive0-old on top of it).</summary>
    private static readonly JsonElement Vm1Graph = JsonDocument.Parse("""
        [
          {"node-name": "drive0-old", "file": "/snaps/old.qcow2", "backing_file": "/vm/vm1-0.qcow2"},
          {"node-name": "drive0", "file": "/vm/vm1-0.qcow2"},
          {"node-name": "drive1", "file": "/vm/vm1-1.qcow2"}
        ]
        """).RootElement.Clone();

    private static readonly JsonElement Vm2Graph = JsonDocument.Parse("""[{"node-name": "drive0", "file": "/vm/vm2-0.qcow2"}]""").RootElement.Clone();

    private static Vm.QmpExecuted GraphOf(Vm.ExecuteQmp ask, JsonElement graph) => new(ask.VmId, ask.RequestId, ask.Command, graph, null, null);

    [Fact]
    public void QmpSnapshotActor_must_encode_the_same_transaction_as_the_protocol_records()
    {
        var written = QmpSnapshotActor.Transactions(Provider, "s1", "nightly",
            [("vm1", Disks["vm1"], ["drive0-old", "drive1"]), ("web/01", ["drive0"], ["drive0"])]);
        string Expected(string vm, IReadOnlyList<string> disks, IReadOnlyList<string> nodes) => JsonSerializer.SerializeToElement(new TransactionArguments
        {
            Actions = disks.Select((d, i) => new TransactionAction
            {
                Type = "blockdev-snapshot-sync",
                Data = new BlockdevSnapshotSync { NodeName = nodes[i], SnapshotFile = Provider.OverlayPath("s1", vm, d, "nightly"), SnapshotNodeName = $"{d}-nightly" },
            }).ToList(),
        }, QmpJsonContext.Default.TransactionArguments).GetRawText();

        Assert.Equal([Expected("vm1", Disks["vm1"], ["drive0-old", "drive1"]), Expected("web/01", ["drive0"], ["drive0"])], written.Select(e => e.GetRawText()));
    }

    [Fact]
    public async Task QmpSnapshotActor_must_only_read_the_block_graphs_before_go_and_snapshot_the_top_of_each_chain_on_go()
    {
        var fleet = CreateTestProbe();
        var saga = CreateTestProbe();
        var child = Sys.ActorOf(Provider.Props(new SnapshotRequest("s1", "nightly", ["vm1", "vm2", "vm3"], Disks, WaitForGo: true), fleet, saga));

        var asks = new[] { await fleet.ExpectMsgAsync<Vm.ExecuteQmp>(), await fleet.ExpectMsgAsync<Vm.ExecuteQmp>() };
        Assert.All(asks, a => Assert.Equal(QmpCommands.QueryNamedBlockNodes, a.Command)); // read-only: no transaction before go
        Assert.Equal(["vm1", "vm2"], asks.Select(a => a.VmId).Order());
        foreach (var a in asks) child.Tell(GraphOf(a, a.VmId == "vm1" ? Vm1Graph : Vm2Graph), fleet.Ref);
        await fleet.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        await saga.ExpectNoMsgAsync(TimeSpan.Zero); // not even vm3's missing disks: reported on go, if it is a target

        child.Tell(new SnapshotGo("s1", ["vm1", "vm3"]), TestActor);
        var sent = await fleet.ExpectMsgAsync<Vm.ExecuteQmp>();
        Assert.Equal(("vm1", QmpCommands.Transaction), (sent.VmId, sent.Command));
        var actions = sent.Arguments!.Value.GetProperty("actions");
        Assert.Equal(["drive0-old", "drive1"], actions.EnumerateArray().Select(a => a.GetProperty("data").GetProperty("node-name").GetString()));
        var failed = await saga.ExpectMsgAsync<SnapshotResult>();
        Assert.Equal(("vm3", "no disks configured for a QMP snapshot"), (failed.VmId, failed.Error));
        await fleet.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100)); // vm2 prepared but not a target

        child.Tell(new Vm.QmpExecuted("vm1", sent.RequestId, sent.Command, null, null, null), fleet.Ref);
        Assert.Equal(("vm1", (string?)null), await saga.ExpectMsgAsync<SnapshotResult>() is var ok ? (ok.VmId, ok.Error) : default);
    }

    [Fact]
    public async Task QmpSnapshotActor_must_send_a_target_transaction_once_its_late_graph_arrives_and_report_an_unreachable_monitor_on_go()
    {
        var fleet = CreateTestProbe();
        var saga = CreateTestProbe();
        var child = Sys.ActorOf(Provider.Props(new SnapshotRequest("s1", "nightly", ["vm1", "vm2"], Disks, WaitForGo: true), fleet, saga));
        var asks = new[] { await fleet.ExpectMsgAsync<Vm.ExecuteQmp>(), await fleet.ExpectMsgAsync<Vm.ExecuteQmp>() }.ToDictionary(a => a.VmId);
        child.Tell(new Vm.QmpExecuted("vm2", asks["vm2"].RequestId, asks["vm2"].Command, null, null, new Vm.Failure(Vm.FailureKind.Unreachable, "no monitor")), fleet.Ref);

        child.Tell(new SnapshotGo("s1", ["vm1", "vm2"]), TestActor);
        var unreachable = await saga.ExpectMsgAsync<SnapshotResult>();
        Assert.Equal("vm2", unreachable.VmId);
        Assert.Contains("no monitor", unreachable.Error);
        await fleet.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100)); // vm1's graph is still out

        child.Tell(GraphOf(asks["vm1"], Vm1Graph), fleet.Ref);
        var sent = await fleet.ExpectMsgAsync<Vm.ExecuteQmp>();
        Assert.Equal(("vm1", QmpCommands.Transaction), (sent.VmId, sent.Command));
    }

    [Fact]
    public async Task QmpSnapshotActor_must_report_a_target_whose_graph_fails_after_go()
    {
        var fleet = CreateTestProbe();
        var saga = CreateTestProbe();
        var child = Sys.ActorOf(Provider.Props(new SnapshotRequest("s1", "nightly", ["vm2"], Disks, WaitForGo: true), fleet, saga));
        var ask = await fleet.ExpectMsgAsync<Vm.ExecuteQmp>();
        child.Tell(new SnapshotGo("s1", ["vm2"]), TestActor);
        child.Tell(new Vm.QmpExecuted("vm2", ask.RequestId, ask.Command, null, null, new Vm.Failure(Vm.FailureKind.Timeout, "no reply in 10 s")), fleet.Ref);

        var failed = await saga.ExpectMsgAsync<SnapshotResult>();
        Assert.Equal("vm2", failed.VmId);
        Assert.Contains("no reply in 10 s", failed.Error);
        await fleet.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100)); // no transaction for it
    }
}
