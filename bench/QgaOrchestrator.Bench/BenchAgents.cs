using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace QgaOrchestrator.Bench;

/// <summary>
/// Many minimal guest agents in one process (the child side of the bench): each a unix socket that
/// answers guest-sync-delimited (0xFF + id), guest-sync, guest-ping, guest-info and
/// guest-fsfreeze-status with qemu-ga's reply shapes, echoing ids. Replies of one read go out in one write.
/// </summary>
internal static class BenchAgents
{
    public static async Task<int> RunAsync(int count, string dir)
    {
        var listeners = new List<Socket>();
        for (int i = 0; i < count; i++)
        {
            var l = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            l.Bind(new UnixDomainSocketEndPoint(SocketPath(dir, i)));
            l.Listen(16);
            listeners.Add(l);
            _ = AcceptLoopAsync(l);
        }
        Console.WriteLine("ready");
        await Console.In.ReadToEndAsync(); // the parent closes stdin to stop us
        foreach (var l in listeners) l.Dispose();
        return 0;
    }

    public static string SocketPath(string dir, int i) => Path.Combine(dir, $"a{i}.sock");

    private static async Task AcceptLoopAsync(Socket listener)
    {
        try
        {
            while (true)
            {
                var client = await listener.AcceptAsync();
                _ = ServeAsync(client);
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
        }
    }

    private static async Task ServeAsync(Socket client)
    {
        var buffer = new byte[4096];
        var pending = new List<byte>();
        var output = new MemoryStream();
        try
        {
            while (true)
            {
                int n = await client.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0) break;
                int start = 0;
                for (int i = 0; i < n; i++)
                {
                    if (buffer[i] == 0xFF)
                    {
                        pending.Clear();
                        start = i + 1;
                        output.Write("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\uFFFD'\"}}\n"u8);
                        continue;
                    }
                    if (buffer[i] != '\n') continue;
                    pending.AddRange(buffer.AsSpan(start, i - start));
                    start = i + 1;
                    Answer(pending, output);
                    pending.Clear();
                }
                pending.AddRange(buffer.AsSpan(start, n - start));
                if (output.Length > 0)
                {
                    await client.SendAsync(output.GetBuffer().AsMemory(0, (int)output.Length), SocketFlags.None);
                    output.SetLength(0);
                }
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
        }
        client.Dispose();
    }

    private static void Answer(List<byte> line, MemoryStream output)
    {
        using var doc = JsonDocument.Parse(line.ToArray());
        var root = doc.RootElement;
        var cmd = root.GetProperty("execute").GetString();
        var id = root.TryGetProperty("id", out var i) ? ", \"id\": " + i.GetRawText() : "";
        string Arg() => root.GetProperty("arguments").GetProperty("id").GetRawText();
        var reply = cmd switch
        {
            "guest-sync-delimited" => "\u00FF{\"return\": " + Arg() + id + "}",
            "guest-sync" => "{\"return\": " + Arg() + id + "}",
            "guest-ping" => "{\"return\": {}" + id + "}",
            "guest-info" => "{\"return\": {\"version\": \"bench\", \"supported_commands\": [{\"enabled\": true, \"name\": \"guest-ping\", \"success-response\": true}]}" + id + "}",
            _ => "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command " + cmd + " has not been found\"}" + id + "}",
        };
        if (reply[0] == '\u00FF')
        {
            output.WriteByte(0xFF);
            reply = reply[1..];
        }
        output.Write(Encoding.UTF8.GetBytes(reply));
        output.WriteByte((byte)'\n');
    }
}
