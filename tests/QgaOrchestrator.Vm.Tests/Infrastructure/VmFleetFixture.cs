using System.Collections.Concurrent;

namespace QgaOrchestrator.Vm.Tests.Infrastructure;

/// <summary>
/// The guests of this test project, shared by every test in <see cref="RealVmCollection"/>: the image
/// is built (or taken from the cache) once, then all VMs boot in parallel while the first tests wait
/// for theirs. Tests that only read share a VM; tests that end a VM (shutdown) get their own.
/// </summary>
public sealed class VmFleetFixture : IAsyncLifetime
{
    /// <summary>Virtio-serial guests: channel commands, fstrim, and a two-VM snapshot group with <see cref="Peer"/>.</summary>
    public const string Main = "main";
    /// <summary>
    /// The second group member; also suspended to S3 and woken by the suspend saga (so it boots the
    /// S3-safe bzImage). Once per boot only: after one wakeup this guest's next S3 or poweroff never
    /// reaches QEMU (the kernel counts the suspend a success, QEMU stays running), so no other test
    /// may suspend or shut it down.
    /// </summary>
    public const string Peer = "peer";
    /// <summary>The agent on the second COM port.</summary>
    public const string Isa = "isa";
    /// <summary>Shut down by its test.</summary>
    public const string Power = "power";
    /// <summary>Shut down by the shutdown saga.</summary>
    public const string Sleeper = "sleeper";
    public const string Vsock = "vsock";
    /// <summary>
    /// The qgaorchd group (<see cref="ServiceVmSpec"/>), used only through the service: snapshots, fstrim, the
    /// kill mid-freeze, then its shutdown saga (ServiceB's suspend and resume come last on that S3-safe guest).
    /// </summary>
    public const string ServiceA = "svc-a";
    public const string ServiceB = "svc-b";

    /// <summary>Boot under TCG on a loaded 2-core machine is 5-40 s per guest when they boot together.</summary>
    public static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(180);

    private readonly ConcurrentDictionary<string, QemuVm> _vms = new();
    private Task<string>? _image;

    public Task InitializeAsync()
    {
        if (VmRequirements.Missing.Value is not null) return Task.CompletedTask;
        _image = GuestImage.GetAsync();
        return Task.CompletedTask;
    }

    /// <summary>The guest for <paramref name="role"/>, booted on first use (all roles start booting together).</summary>
    public async Task<QemuVm> GetAsync(string role)
    {
        await StartAllAsync();
        var vm = _vms[role];
        await vm.WaitForAgentStartingAsync(BootTimeout);
        return vm;
    }

    public IReadOnlyCollection<QemuVm> Started => _vms.Values.ToList();

    private readonly SemaphoreSlim _startGate = new(1, 1);

    private async Task StartAllAsync()
    {
        await _startGate.WaitAsync();
        try
        {
            if (!_vms.IsEmpty) return;
            var image = await (_image ?? throw new InvalidOperationException("real VMs are not available: " + VmRequirements.Missing.Value));
            var roles = new List<(string Role, AgentChannel Channel)>
            {
                (Main, AgentChannel.VirtioSerial), (Peer, AgentChannel.VirtioSerial), (Isa, AgentChannel.IsaSerial), (Power, AgentChannel.VirtioSerial),
                (Sleeper, AgentChannel.VirtioSerial), (ServiceA, AgentChannel.VirtioSerial), (ServiceB, AgentChannel.VirtioSerial),
            };
            if (VmRequirements.VsockMissing.Value is null) roles.Add((Vsock, AgentChannel.Vsock));
            for (int i = 0; i < roles.Count; i++)
                _vms[roles[i].Role] = QemuVm.Start(image, roles[i].Role, roles[i].Channel, i + 1, suspendable: roles[i].Role is Peer or ServiceB);
        }
        finally
        {
            _startGate.Release();
        }
    }

    public async Task DisposeAsync()
    {
        await Task.WhenAll(_vms.Values.Select(v => v.DisposeAsync().AsTask()));
        _startGate.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class RealVmCollection : ICollectionFixture<VmFleetFixture>
{
    public const string Name = "real QEMU guests";
}
