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

    [Fact]
    public void QmpSnapshotActor_must_encode_the_same_transaction_as_the_protocol_records()
    {
        var written = QmpSnapshotActor.Transactions(Provider, "s1", "nightly", [("vm1", Disks["vm1"]), ("web/01", ["drive0"])]);
        string Expected(string vm, IReadOnlyList<string> disks) => JsonSerializer.SerializeToElement(new TransactionArguments
        {
            Actions = disks.Select(d => new TransactionAction
            {
                Type = "blockdev-snapshot-sync",
                Data = new BlockdevSnapshotSync { NodeName = d, SnapshotFile = Provider.OverlayPath("s1", vm, d, "nightly"), SnapshotNodeName = $"{d}-nightly" },
            }).ToList(),
        }, QmpJsonContext.Default.TransactionArguments).GetRawText();

        Assert.Equal([Expected("vm1", Disks["vm1"]), Expected("web/01", ["drive0"])], written.Select(e => e.GetRawText()));
    }

    [Fact]
    public async Task QmpSnapshotActor_must_send_nothing_before_go_when_preparing()
    {
        var fleet = CreateTestProbe();
        var saga = CreateTestProbe();
        var child = Sys.ActorOf(Provider.Props(new SnapshotRequest("s1", "nightly", ["vm1", "vm2", "vm3"], Disks, WaitForGo: true), fleet, saga));

        await fleet.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        await saga.ExpectNoMsgAsync(TimeSpan.Zero); // not even vm3's missing disks: reported on go, if it is a target

        child.Tell(new SnapshotGo("s1", ["vm1", "vm3"]), TestActor);
        var sent = await fleet.ExpectMsgAsync<Vm.ExecuteQmp>();
        Assert.Equal(("vm1", QmpCommands.Transaction), (sent.VmId, sent.Command));
        Assert.Equal(2, sent.Arguments!.Value.GetProperty("actions").GetArrayLength());
        var failed = await saga.ExpectMsgAsync<SnapshotResult>();
        Assert.Equal(("vm3", "no disks configured for a QMP snapshot"), (failed.VmId, failed.Error));
        await fleet.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100)); // vm2 prepared but not a target
    }
}
