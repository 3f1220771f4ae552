using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Host.Configuration;

namespace QgaOrchestrator.Host.Tests;

/// <summary>qgaorchd refuses to start on a bad setting, naming the file, the line and the field.</summary>
public sealed class ConfigValidationSpec : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qgaorchd-config-").FullName;

    private static VmConfig Vm(string id, string socket) => new() { Id = id, QgaSocket = socket };

    private string Fleet => Path.Combine(_dir, "config", "fleet.json");

    private string AppSettings => Path.Combine(_dir, "config", "appsettings.json");

    private ConfigProblemException Refused(IEnumerable<VmConfig> vms, string? appSettings = null, params string[] args) =>
        Assert.Throws<ConfigProblemException>(() => RunningHost.Build(_dir, vms, appSettings, args));

    [Fact]
    public void Host_must_refuse_a_duplicate_vm_id_naming_the_fleet_file_line_and_entry()
    {
        var e = Refused([Vm("a", "/run/a.sock"), Vm("b", "/run/b.sock"), Vm("a", "/run/c.sock")]);
        Assert.StartsWith(Fleet + ":", e.Message, StringComparison.Ordinal);
        Assert.Contains("vms[2]", e.Message, StringComparison.Ordinal);
        Assert.Contains("duplicate id", e.Message, StringComparison.Ordinal);
        var line = int.Parse(e.Message[(Fleet.Length + 1)..].Split(':')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains("\"id\": \"a\"", string.Concat(File.ReadAllLines(Fleet).Skip(line - 1).Take(3)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("relative/qga.sock", "not an absolute path")]
    [InlineData("/run/qemu/this-path-is-far-too-long-for-a-unix-socket-because-sun-path-holds-only-one-hundred-and-eight-bytes.sock", "longer than the 107 bytes")]
    public void Host_must_refuse_a_bad_socket_path_naming_the_field(string socket, string problem)
    {
        var e = Refused([Vm("ok", "/run/ok.sock"), Vm("bad", socket)]);
        Assert.StartsWith(Fleet + ":", e.Message, StringComparison.Ordinal);
        Assert.Contains("vms[1] (id 'bad').qgaSocket", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Host_must_refuse_an_unknown_snapshot_mode_naming_appsettings_line_and_key()
    {
        var e = Refused([Vm("a", "/run/a.sock")], """
            {
              "Orchestrator": {
                "Listen": "http://127.0.0.1:0",
                "Snapshot": {
                  "DefaultMode": "zfs-magic"
                }
              }
            }
            """);
        Assert.Equal($"{AppSettings}:5: Orchestrator:Snapshot:DefaultMode: unknown snapshot mode 'zfs-magic' (expected qmp, command or external)", e.Message);
    }

    [Fact]
    public void Host_must_refuse_a_bad_setting_given_on_the_command_line_naming_the_key()
    {
        var e = Refused([Vm("a", "/run/a.sock")], null, "--Orchestrator:Sagas:MaxDeadline=forever");
        Assert.StartsWith("Orchestrator:Sagas:MaxDeadline (environment or command line): 'forever' is not a positive duration", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Host_must_refuse_a_relative_inventory_root_naming_the_key()
    {
        var e = Refused([Vm("a", "/run/a.sock")], null, "--Orchestrator:Inventory:Discover=true", "--Orchestrator:Inventory:ProxmoxRoot=run/qemu-server");
        Assert.Equal("Orchestrator:Inventory:ProxmoxRoot (environment or command line): 'run/qemu-server' is not an absolute path", e.Message);
    }

    [Fact]
    public void Host_must_refuse_a_bad_inventory_rescan_interval_naming_appsettings_line_and_key()
    {
        var e = Refused([Vm("a", "/run/a.sock")], """
            {
              "Orchestrator": {
                "Listen": "http://127.0.0.1:0",
                "Inventory": {
                  "Discover": true,
                  "RescanInterval": "0s"
                }
              }
            }
            """);
        Assert.Equal($"{AppSettings}:6: Orchestrator:Inventory:RescanInterval: '0s' is not a positive duration (e.g. 30s, 500ms, 2m)", e.Message);
    }

    [Fact]
    public void Host_must_refuse_a_vm_id_with_a_colon_in_the_fleet_file()
    {
        var e = Refused([Vm("pve:100", "/run/a.sock")]);
        Assert.StartsWith(Fleet + ":", e.Message, StringComparison.Ordinal);
        Assert.Contains("':' is reserved for discovered VMs", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Host_must_refuse_a_listen_url_that_is_not_http()
    {
        var e = Refused([Vm("a", "/run/a.sock")], null, "--Orchestrator:Listen=ftp://127.0.0.1:21");
        Assert.Contains("Orchestrator:Listen", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Host_must_refuse_appsettings_that_are_not_json()
    {
        var e = Refused([Vm("a", "/run/a.sock")], "{ \"Orchestrator\": ");
        Assert.StartsWith(AppSettings + ": not valid JSON", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Qgaorchd_must_exit_78_and_say_why_when_the_config_is_refused()
    {
        var config = Path.Combine(_dir, "config");
        Directory.CreateDirectory(config);
        File.WriteAllText(Path.Combine(config, "fleet.json"), """{ "vms": [ { "id": "x y", "qgaSocket": "/run/x.sock" } ] }""");
        var stderr = new StringWriter();
        var code = await QgaHost.RunAsync(["--config-dir", config, $"--Orchestrator:StateDir={Path.Combine(_dir, "state")}"], stderr);
        Assert.Equal(QgaHost.ExitConfig, code);
        Assert.StartsWith($"qgaorchd: refusing to start: {Path.Combine(config, "fleet.json")}:1: vms[0]", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("may hold only letters", stderr.ToString(), StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
