using QgaOrchestrator.Core.Fleet;

namespace QgaOrchestrator.Core.Tests.Fleet;

public sealed class FleetConfigSpec
{
    [Fact]
    public void FleetConfig_must_load_ids_sockets_disks_and_labels()
    {
        var vms = FleetConfig.Parse("""
            { "vms": [
              { "id": "web-01", "qgaSocket": "/run/qga/web-01.sock", "qmpSocket": "/run/qmp/web-01.sock", "disks": ["disk0"], "labels": { "tier": "web" } },
              { "id": "db-01", "qgaSocket": "/run/qga/db-01.sock" } ] }
            """);
        Assert.Equal(2, vms.Count);
        Assert.Equal("/run/qmp/web-01.sock", vms[0].QmpSocket);
        Assert.Equal(["disk0"], vms[0].Disks);
        Assert.Equal("web", vms[0].Labels["tier"]);
        Assert.Null(vms[1].QmpSocket);
    }

    [Fact]
    public void FleetConfig_must_reject_a_duplicate_id_naming_the_entry()
    {
        var e = Assert.Throws<FleetConfigException>(() => FleetConfig.Parse("""
            { "vms": [ { "id": "a", "qgaSocket": "/x" }, { "id": "b", "qgaSocket": "/y" }, { "id": "a", "qgaSocket": "/z" } ] }
            """));
        Assert.Contains("vms[2] (id 'a')", e.Message);
        Assert.Contains("duplicate", e.Message);
        Assert.Contains("vms[0]", e.Message);
    }

    [Theory]
    [InlineData("""{ "vms": [ { "id": "a", "qgaSocket": "" } ] }""", "qgaSocket")]
    [InlineData("""{ "vms": [ { "id": "a" } ] }""", "qgaSocket")]
    [InlineData("""{ "vms": [ { "id": "a", "qgaSocket": "/x", "qmpSocket": " " } ] }""", "qmpSocket")]
    [InlineData("""{ "vms": [ { "qgaSocket": "/x" } ] }""", "\"id\"")]
    [InlineData("""{ "vms": [ { "id": "a b", "qgaSocket": "/x" } ] }""", "letters")]
    [InlineData("""{ "machines": [] }""", "\"vms\"")]
    [InlineData("""{ "vms": [ """, "not valid JSON")]
    public void FleetConfig_must_reject_an_unusable_entry_with_a_clear_error(string json, string mentions)
    {
        var e = Assert.Throws<FleetConfigException>(() => FleetConfig.Parse(json));
        Assert.Contains(mentions, e.Message);
    }

    [Fact]
    public void FleetConfig_must_accept_the_shipped_sample_files()
    {
        var root = Path.Combine(QgaOrchestrator.Core.Tests.Fakes.TestSupport.RepoRoot, "config");
        foreach (var name in new[] { "fleet.json", "fleet.sample.json" })
            Assert.NotNull(FleetConfig.Load(Path.Combine(root, name)));
    }
}
