namespace QgaOrchestrator.Host.Configuration;

/// <summary>
/// A setting qgaorchd refuses to start with. The message names the file, the line where known and the
/// field, e.g. <c>/etc/qgaorch/fleet.json:7: vms[1].qgaSocket: ...</c>.
/// </summary>
public sealed class ConfigProblemException(string message) : Exception(message);
