using QgaOrchestrator.Host.Tests;

namespace QgaOrchestrator.Vm.Tests.Infrastructure;

/// <summary>
/// One qgaorchd process for <see cref="ServiceVmSpec"/> over the fixture's <see cref="VmFleetFixture.ServiceA"/>
/// and <see cref="VmFleetFixture.ServiceB"/> guests, on an SQLite journal in its own state dir. Started on
/// first use (after those guests booted); started again on the same dir after a test killed it.
/// </summary>
public sealed class ServiceFixture : IAsyncLifetime
{
    /// <summary>
    /// TCG guests answer slower than a KVM fleet: per-request timeouts of 15 s (a woken guest's re-sync ping),
    /// deadlines up to 5 min (still under nothing: the agents self-thaw after 60 s), Information logs to stdout.
    /// </summary>
    public const string AppSettings = """
        {
          "Orchestrator": {
            "Listen": "http://127.0.0.1:0",
            "Sagas": { "MaxDeadline": "5m", "RequestTimeout": "15s" },
            "Logging": { "File": "" }
          },
          "Serilog": { "MinimumLevel": { "Default": "Information", "Override": { "Microsoft.AspNetCore": "Warning" } } }
        }
        """;

    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(90);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private IReadOnlyList<QemuVm>? _vms;

    public string Dir { get; } = Directory.CreateTempSubdirectory("qgaorchd-vm-").FullName;

    /// <summary>qgaorchd's default QMP overlay dir: StateDir/overlays.</summary>
    public string OverlayDir => Path.Combine(HostConfig.StateDir(Dir), "overlays");

    /// <summary>The image each guest's disk0 writes to now: its boot disk, then the overlay of each QMP snapshot.</summary>
    public Dictionary<string, string> ActiveImage { get; } = new(StringComparer.Ordinal);

    /// <summary>The running qgaorchd (null before the first <see cref="StartAsync"/>).</summary>
    public QgaorchdProcess? Host { get; private set; }

    /// <summary>
    /// The service over both guests, with each agent and monitor connected; starts qgaorchd if it is not
    /// running (first use, or after a kill: then on the same state dir, so it recovers the journal).
    /// </summary>
    public async Task<QgaorchdProcess> StartAsync(VmFleetFixture fleet)
    {
        await _gate.WaitAsync();
        try
        {
            if (Host is { HasExited: false } running) return running;
            if (_vms is null)
            {
                _vms = await Task.WhenAll(fleet.GetAsync(VmFleetFixture.ServiceA), fleet.GetAsync(VmFleetFixture.ServiceB));
                foreach (var vm in _vms) ActiveImage[vm.Id] = vm.Disk;
                HostConfig.Write(Dir, _vms.Select(v => v.Config), AppSettings);
            }
            if (Host is not null) await Host.DisposeAsync();
            Host = await QgaorchdProcess.StartAsync(Dir);
            foreach (var vm in _vms.Where(v => !v.Exited.IsCompleted)) await Host.WaitForAgentAsync(vm.Id, ConnectTimeout, monitor: true);
            return Host;
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (Host is not null) await Host.DisposeAsync();
        _gate.Dispose();
        try
        {
            Directory.Delete(Dir, true);
        }
        catch (IOException)
        {
        }
    }
}
