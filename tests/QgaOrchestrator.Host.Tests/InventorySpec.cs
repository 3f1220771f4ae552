using System.Text.Json;
using QgaOrchestrator.Core.Tests.Fakes;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Host.Tests;

/// <summary>qgaorchd with discovery pointed at a temp dir laid out like Proxmox's /var/run/qemu-server.</summary>
public sealed class InventorySpec : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("qgaorchd-inv-").FullName;

    private string ProxmoxRoot => Path.Combine(_root, "qemu-server");

    private Task<RunningHost> StartAsync(IEnumerable<VmConfig> fleet) => RunningHost.StartAsync(fleet,
        "--Orchestrator:Inventory:Discover=true",
        $"--Orchestrator:Inventory:ProxmoxRoot={ProxmoxRoot}",
        $"--Orchestrator:Inventory:LibvirtRoot={Path.Combine(_root, "libvirt")}");

    private static async Task<JsonElement?> FindAsync(RunningHost host, string id)
    {
        var (status, body, _) = await host.GetAsync("/vms");
        Assert.Equal(200, status);
        return body.EnumerateArray().Where(v => v.GetProperty("id").GetString() == id).Select(v => (JsonElement?)v).FirstOrDefault();
    }

    [QgaAgentFact]
    public async Task Qgaorchd_must_serve_a_proxmox_vm_while_its_agent_socket_exists()
    {
        Directory.CreateDirectory(ProxmoxRoot);
        await using var host = await StartAsync([new VmConfig { Id = "web", QgaSocket = Path.Combine(_root, "web.sock") }]);
        var socket = Path.Combine(ProxmoxRoot, "123.qga");
        var agent = await QgaAgentProcess.StartAsync(socket);
        try
        {
            await host.WaitForAgentAsync("pve:123");
            var vm = (await FindAsync(host, "pve:123"))!.Value;
            Assert.Equal("proxmox", vm.GetProperty("source").GetString());
            Assert.Equal(socket, vm.GetProperty("qgaSocket").GetString());
            Assert.True(vm.GetProperty("agentConnected").GetBoolean());
            Assert.Equal("fleet", (await FindAsync(host, "web"))!.Value.GetProperty("source").GetString());

            var (status, body, _) = await host.PostAsync("/vms/pve:123/commands/guest-ping");
            Assert.Equal(200, status);
            Assert.Equal("pve:123", body.GetProperty("vmId").GetString());
            var (code, stdout, stderr) = await host.CliAsync("vms");
            Assert.Equal(0, code);
            Assert.Matches(@"pve:123\s+proxmox\s+\S+", stdout);
            (code, _, stderr) = await host.CliAsync("cmd", "pve:123", "guest-ping"); // the id is escaped to pve%3A123
            Assert.True(code == 0, stderr);
        }
        finally
        {
            await agent.DisposeAsync(); // the VM stops: QEMU removes its socket
            File.Delete(socket);
        }

        await Eventually.UntilAsync(async () => await FindAsync(host, "pve:123") is null, TimeSpan.FromSeconds(20), () => "pve:123 still listed after its socket was removed");
        Assert.Equal(404, (await host.GetAsync("/vms/pve:123")).Status);
        Assert.NotNull(await FindAsync(host, "web")); // fleet.json VMs stay
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
