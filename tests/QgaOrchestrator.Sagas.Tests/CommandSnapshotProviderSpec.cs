using QgaOrchestrator.Core.Snapshots;

namespace QgaOrchestrator.Sagas.Tests;

public sealed class CommandSnapshotProviderSpec
{
    [Fact]
    public void CommandSnapshotProvider_must_split_before_substituting_so_values_cannot_add_arguments()
    {
        var p = new CommandSnapshotProvider("zfs snapshot -r 'tank/vms@{name}' {vm}", PerVm: true, TimeSpan.FromSeconds(1));
        var argv = p.Argv("s1", "x; rm -rf / #", "web 01");
        Assert.Equal(["zfs", "snapshot", "-r", "tank/vms@x; rm -rf / #", "web 01"], argv);
    }

    [Fact]
    public void CommandSnapshotProvider_must_reject_an_unterminated_quote() =>
        Assert.Throws<FormatException>(() => CommandSnapshotProvider.SplitArgv("lvcreate -s 'oops"));

    [Fact]
    public void QmpSnapshotProvider_must_keep_overlay_names_inside_its_dir()
    {
        var p = new QmpSnapshotProvider("/snaps");
        Assert.Equal("/snaps/web_01-drive0-___x.qcow2", p.OverlayPath("s", "web/01", "drive0", "../x"));
    }
}
