using System.Text.Json;
using System.Text.Json.Serialization;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Host.Tests;

/// <summary>
/// A qgaorchd config dir for tests: DIR/config/{appsettings.json,fleet.json} and the state dir DIR/state
/// (journal, api-token). Shared by the in-process <see cref="RunningHost"/> and the Vm.Tests' qgaorchd process.
/// </summary>
public static class HostConfig
{
    public const string DefaultAppSettings = """
        {
          "Orchestrator": {
            "Listen": "http://127.0.0.1:0",
            "Sagas": { "MaxDeadline": "2m" },
            "Logging": { "File": "" },
            "Inventory": { "Discover": false }
          },
          "Serilog": { "MinimumLevel": { "Default": "Warning" } }
        }
        """;

    public static string ConfigDir(string dir) => Path.Combine(dir, "config");

    public static string StateDir(string dir) => Path.Combine(dir, "state");

    public static string TokenFile(string dir) => Path.Combine(StateDir(dir), "api-token");

    /// <summary>Writes the two files; returns qgaorchd's arguments for this dir.</summary>
    public static string[] Write(string dir, IEnumerable<VmConfig> vms, string? appSettings = null)
    {
        var config = ConfigDir(dir);
        Directory.CreateDirectory(config);
        File.WriteAllText(Path.Combine(config, "fleet.json"), FleetJson(vms));
        File.WriteAllText(Path.Combine(config, "appsettings.json"), appSettings ?? DefaultAppSettings);
        return ["--config-dir", config, $"--Orchestrator:StateDir={StateDir(dir)}"];
    }

    public static string FleetJson(IEnumerable<VmConfig> vms) => JsonSerializer.Serialize(new
    {
        vms = vms.Select(v => new { id = v.Id, qgaSocket = v.QgaSocket, qmpSocket = v.QmpSocket, disks = v.Disks, labels = v.Labels }),
    }, new JsonSerializerOptions { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull });
}
