using System.Net.Sockets;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Host.Tests;

/// <summary>An agent that accepts the connection and never answers: the API says 504, the CLI exits 3.</summary>
public sealed class TimeoutSpec : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qga-silent-").FullName;
    private Socket _listener = null!;
    private readonly List<Socket> _accepted = [];
    private RunningHost _host = null!;

    public async Task InitializeAsync()
    {
        var path = Path.Combine(_dir, "qga.sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(4);
        _ = AcceptForeverAsync();
        _host = await RunningHost.StartAsync([new VmConfig { Id = "silent", QgaSocket = path }]);
    }

    private async Task AcceptForeverAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptAsync();
                lock (_accepted) _accepted.Add(client);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // disposed at the end of the test
        }
    }

    [Fact]
    public async Task Command_must_answer_504_problem_when_the_agent_stays_silent()
    {
        var (status, body, type) = await _host.PostAsync("/vms/silent/commands/guest-ping?timeout=500ms");
        Assert.Equal(504, status);
        Assert.Equal("application/problem+json", type);
        Assert.Equal("urn:qgaorch:problem:timeout", body.GetProperty("type").GetString());

        var (code, _, stderr) = await _host.CliAsync("cmd", "silent", "guest-ping", "--timeout", "500ms");
        Assert.True(code == 3, stderr);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _listener.Dispose();
        lock (_accepted)
            foreach (var s in _accepted) s.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
