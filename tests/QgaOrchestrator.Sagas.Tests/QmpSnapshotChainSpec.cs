using System.Text.Json;
using QgaOrchestrator.Core.Snapshots.Internal;

namespace QgaOrchestrator.Sagas.Tests;

public sealed class QmpSnapshotChainSpec
{
    /// <summary>query-named-block-nodes {"flat": true} of QEMU 7.2 after one blockdev-snapshot-sync of disk0 (format and protocol nodes).</summary>
    private const string AfterOneSnapshot = """
        [
          {"node-name": "disk0-a", "drv": "qcow2", "file": "/vm/o1.qcow2", "backing_file": "/vm/disk.qcow2"},
          {"node-name": "#block493", "drv": "file", "file": "/vm/o1.qcow2"},
          {"node-name": "disk0", "drv": "qcow2", "file": "/vm/disk.qcow2"},
          {"node-name": "#block071", "drv": "file", "file": "/vm/disk.qcow2"},
          {"node-name": "disk1", "drv": "qcow2", "file": "/vm/data.qcow2"}
        ]
        """;

    [Fact]
    public void QmpSnapshot_must_address_the_overlay_on_top_of_a_configured_disk_and_the_disk_itself_when_nothing_is_on_top()
    {
        var tops = QmpSnapshotActor.TopsOf(JsonDocument.Parse(AfterOneSnapshot).RootElement, ["disk0", "disk1", "gone"]);
        Assert.Equal("disk0-a", tops["disk0"]); // QEMU refuses to snapshot disk0 now: it is disk0-a's backing node
        Assert.Equal("disk1", tops["disk1"]);
        Assert.Equal("gone", tops["gone"]); // not in the graph: as configured, QEMU names the error
    }

    [Fact]
    public void QmpSnapshot_must_follow_a_chain_of_several_overlays_to_its_top()
    {
        var nodes = JsonDocument.Parse("""
            [
              {"node-name": "disk0-b", "file": "/vm/o2.qcow2", "backing_file": "/vm/o1.qcow2"},
              {"node-name": "disk0", "file": "/vm/disk.qcow2"},
              {"node-name": "disk0-a", "file": "/vm/o1.qcow2", "backing_file": "/vm/disk.qcow2"}
            ]
            """).RootElement;
        Assert.Equal("disk0-b", QmpSnapshotActor.TopsOf(nodes, ["disk0"])["disk0"]);
    }
}
