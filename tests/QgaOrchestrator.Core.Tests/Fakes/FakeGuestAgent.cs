using System.Buffers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using QgaOrchestrator.Protocol;
using QgaOrchestrator.Protocol.Framing;

namespace QgaOrchestrator.Core.Tests.Fakes;

/// <summary>One request as the fake agent parsed it off the wire.</summary>
public sealed record AgentRequest(string Execute, JsonElement? Arguments, JsonElement? Id, int Connection)
{
    public long? IntId => Id is { ValueKind: JsonValueKind.Number } v && v.TryGetInt64(out var n) ? n : null;

    public long ArgInt(string name) => Arguments!.Value.GetProperty(name).GetInt64();
}

/// <summary>What the scripted agent does with a request.</summary>
public abstract record AgentAction
{
    public sealed record Respond(byte[] Bytes) : AgentAction;

    /// <summary>Says nothing (a guest that never answers, or a shutdown that succeeded).</summary>
    public sealed record Silent : AgentAction;

    /// <summary>Writes <paramref name="Bytes"/> once <paramref name="Gate"/> completes (a late reply).</summary>
    public sealed record After(Task Gate, byte[] Bytes) : AgentAction;

    /// <summary>Closes the connection.</summary>
    public sealed record Close : AgentAction;
}

/// <summary>
/// A guest agent speaking real bytes over a unix socket, scriptable per request (after Npgsql's
/// PgServerMock). By default it behaves like qemu-ga: it echoes ids, answers the 0xFF with a parse
/// error, and the delimited sync with 0xFF + the id.
/// </summary>
public sealed class FakeGuestAgent : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _cts = new();
    private readonly List<Socket> _clients = [];
    private readonly string _dir;
    private int _connections;
    private int _syncs;

    public FakeGuestAgent(string? path = null)
    {
        _dir = Directory.CreateTempSubdirectory("fake-qga-").FullName;
        SocketPath = path ?? Path.Combine(_dir, "qga.sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(1024);
        _ = AcceptLoopAsync();
    }

    public string SocketPath { get; }

    /// <summary>Decides each request; return null for the default (qemu-ga-like) behaviour.</summary>
    public Func<AgentRequest, AgentAction?>? Handler { get; set; }

    /// <summary>Bytes written to each new client before anything else (stale replies of an earlier client).</summary>
    public Func<int, byte[]?>? OnConnect { get; set; }

    /// <summary>Answer guest-sync-delimited at all (false: an agent that is not running).</summary>
    public bool AnswerSync { get; set; } = true;

    /// <summary>Every request parsed, in order (sync requests included).</summary>
    public Channel<AgentRequest> Requests { get; } = System.Threading.Channels.Channel.CreateUnbounded<AgentRequest>();

    public int Connections => Volatile.Read(ref _connections);

    /// <summary>guest-sync-delimited requests seen (handshakes started by the client).</summary>
    public int Syncs => Volatile.Read(ref _syncs);

    public static byte[] Return(AgentRequest r, string json) => Line($"{{\"return\": {json}{IdPart(r)}}}");

    public static byte[] Error(AgentRequest r, string cls, string desc) =>
        Line($"{{\"error\": {{\"class\": \"{cls}\", \"desc\": \"{desc}\"}}{IdPart(r)}}}");

    public static byte[] Line(string json) => Encoding.UTF8.GetBytes(json + "\n");

    private static string IdPart(AgentRequest r) => r.Id is { } id ? $", \"id\": {id.GetRawText()}" : "";

    /// <summary>Closes every client connection (the agent restarted, or the guest rebooted).</summary>
    public void DropClients()
    {
        lock (_clients)
        {
            foreach (var c in _clients) c.Dispose();
            _clients.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        _listener.Dispose();
        DropClients();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (!_cts.IsCancellationRequested)
            {
                var client = await _listener.AcceptAsync(_cts.Token);
                lock (_clients) _clients.Add(client);
                int n = Interlocked.Increment(ref _connections);
                _ = ServeAsync(client, n);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task ServeAsync(Socket client, int connection)
    {
        var gate = new SemaphoreSlim(1, 1);
        async Task WriteAsync(byte[] bytes)
        {
            await gate.WaitAsync();
            try
            {
                await client.SendAsync(bytes, SocketFlags.None);
            }
            finally
            {
                gate.Release();
            }
        }
        var streamer = new JsonRequestStreamer();
        var parsed = new List<StreamedRequest>();
        var buffer = new byte[16384];
        try
        {
            if (OnConnect?.Invoke(connection) is { } hello) await WriteAsync(hello);
            while (true)
            {
                int n = await client.ReceiveAsync(buffer, SocketFlags.None, _cts.Token);
                if (n == 0) return;
                streamer.Feed(buffer.AsSpan(0, n), parsed);
                foreach (var item in parsed)
                {
                    if (item is StreamedRequest.ParseError pe)
                    {
                        await WriteAsync(QgaReplyWriter.ErrorBytes(QgaError.Generic(pe.Desc)));
                        continue;
                    }
                    var root = ((StreamedRequest.Value)item).Root;
                    var request = new AgentRequest(
                        root.GetProperty("execute").GetString()!,
                        root.TryGetProperty("arguments", out var a) ? a.Clone() : null,
                        root.TryGetProperty("id", out var id) ? id.Clone() : null,
                        connection);
                    if (request.Execute == "guest-sync-delimited") Interlocked.Increment(ref _syncs);
                    Requests.Writer.TryWrite(request);
                    var action = Handler?.Invoke(request) ?? Default(request);
                    switch (action)
                    {
                        case AgentAction.Respond r:
                            await WriteAsync(r.Bytes);
                            break;
                        case AgentAction.After after:
                            _ = after.Gate.ContinueWith(_ => WriteAsync(after.Bytes), TaskScheduler.Default);
                            break;
                        case AgentAction.Close:
                            client.Dispose();
                            return;
                    }
                }
                parsed.Clear();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
        finally
        {
            client.Dispose();
        }
    }

    private AgentAction Default(AgentRequest r) => r.Execute switch
    {
        "guest-sync-delimited" when AnswerSync => new AgentAction.Respond([0xFF, .. Return(r, r.Arguments!.Value.GetProperty("id").GetRawText())]),
        "guest-sync-delimited" => new AgentAction.Silent(),
        "guest-sync" => new AgentAction.Respond(Return(r, r.Arguments!.Value.GetProperty("id").GetRawText())),
        "guest-ping" => new AgentAction.Respond(Return(r, "{}")),
        "guest-info" => new AgentAction.Respond(Return(r,
            """{"version": "9.9.9-fake", "supported_commands": [{"enabled": true, "name": "guest-ping", "success-response": true}, {"enabled": true, "name": "guest-fsfreeze-status", "success-response": true}, {"enabled": false, "name": "guest-exec", "success-response": true}]}""")),
        "guest-fsfreeze-status" => new AgentAction.Respond(Return(r, "\"thawed\"")),
        "guest-shutdown" or "guest-suspend-ram" or "guest-suspend-disk" or "guest-suspend-hybrid" => new AgentAction.Silent(),
        _ => new AgentAction.Respond(Error(r, "CommandNotFound", $"The command {r.Execute} has not been found")),
    };
}
