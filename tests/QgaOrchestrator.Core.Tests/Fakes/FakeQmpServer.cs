using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace QgaOrchestrator.Core.Tests.Fakes;

/// <summary>A QEMU monitor speaking real QMP bytes: greeting, qmp_capabilities, scripted replies, events on demand.</summary>
public sealed class FakeQmpServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _cts = new();
    private readonly List<Socket> _clients = [];
    private readonly string _dir;

    public FakeQmpServer()
    {
        _dir = Directory.CreateTempSubdirectory("fake-qmp-").FullName;
        SocketPath = Path.Combine(_dir, "qmp.sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(16);
        _ = AcceptLoopAsync();
    }

    public string SocketPath { get; }

    /// <summary>Reply JSON (without id) for a command, or null to stay silent.</summary>
    public Func<string, JsonElement?, string?>? Handler { get; set; }

    public Channel<string> Commands { get; } = System.Threading.Channels.Channel.CreateUnbounded<string>();

    private readonly TaskCompletionSource _negotiated = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Negotiated => _negotiated.Task;

    public async Task EmitAsync(string name, string data = "{}")
    {
        var now = DateTimeOffset.UtcNow;
        var line = Encoding.UTF8.GetBytes($"{{\"timestamp\": {{\"seconds\": {now.ToUnixTimeSeconds()}, \"microseconds\": 0}}, \"event\": \"{name}\", \"data\": {data}}}\n");
        Socket[] clients;
        lock (_clients) clients = [.. _clients];
        foreach (var c in clients) await c.SendAsync(line, SocketFlags.None);
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        _listener.Dispose();
        lock (_clients)
            foreach (var c in _clients) c.Dispose();
        Directory.Delete(_dir, true);
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptAsync(_cts.Token);
                lock (_clients) _clients.Add(client);
                _ = ServeAsync(client);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task ServeAsync(Socket client)
    {
        try
        {
            await client.SendAsync("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, \"package\": \"fake\"}, \"capabilities\": [\"oob\"]}}\n"u8.ToArray(), SocketFlags.None);
            var buffer = new byte[8192];
            var pending = new List<byte>();
            while (true)
            {
                int n = await client.ReceiveAsync(buffer, SocketFlags.None, _cts.Token);
                if (n == 0) return;
                pending.AddRange(buffer.AsSpan(0, n));
                int nl;
                while ((nl = pending.IndexOf((byte)'\n')) >= 0)
                {
                    var line = pending.GetRange(0, nl).ToArray();
                    pending.RemoveRange(0, nl + 1);
                    using var doc = JsonDocument.Parse(line);
                    var cmd = doc.RootElement.GetProperty("execute").GetString()!;
                    var id = doc.RootElement.TryGetProperty("id", out var i) ? ", \"id\": " + i.GetRawText() : "";
                    JsonElement? args = doc.RootElement.TryGetProperty("arguments", out var a) ? a.Clone() : null;
                    await Commands.Writer.WriteAsync(cmd);
                    string? reply = cmd switch
                    {
                        "qmp_capabilities" => "{\"return\": {}",
                        _ => Handler?.Invoke(cmd, args) ?? (cmd == "query-status" ? "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}" : null),
                    };
                    if (reply is not null) await client.SendAsync(Encoding.UTF8.GetBytes(reply + id + "}\n"), SocketFlags.None);
                    if (cmd == "qmp_capabilities") _negotiated.TrySetResult();
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }
}
