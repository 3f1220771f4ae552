// Records golden transcripts of conversations with the real qemu-ga.
// Usage: dotnet run --project tools/QgaOrchestrator.TranscriptRecorder -- OUTPUT.jsonl
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using QgaOrchestrator.TranscriptRecorder;

if (args.Length != 1)
{
    Console.Error.WriteLine("usage: QgaOrchestrator.TranscriptRecorder OUTPUT.jsonl");
    return 2;
}

if (!File.Exists(RealAgent.QemuGaPath))
{
    Console.Error.WriteLine($"{RealAgent.QemuGaPath} not found (apt-get install -y qemu-guest-agent)");
    return 2;
}

var output = Path.GetFullPath(args[0]);
var groups = Cases.All();
var names = groups.SelectMany(g => g.Cases).Select(c => c.Name).ToList();
var duplicate = names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
if (duplicate is not null)
{
    Console.Error.WriteLine($"duplicate case name {duplicate.Key}");
    return 2;
}

// Short path: unix socket paths are limited to 108 bytes.
var root = Path.Combine("/tmp", "qga-rec-" + Guid.NewGuid().ToString("N")[..12]);
Directory.CreateDirectory(root);
Directory.CreateDirectory(Path.Combine(root, Cases.ScratchDir));
var encoderOptions = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
var recorded = 0;
var instance = 0;
try
{
    using var file = new FileStream(output, FileMode.Create, FileAccess.Write);
    foreach (var group in groups)
    {
        RealAgent? agent = null;
        try
        {
            foreach (var c in group.Cases)
            {
                if (agent is null || agent.HasExited)
                {
                    if (agent is not null)
                    {
                        Console.Error.WriteLine($"  ! qemu-ga (pid {agent.Pid}) had exited; restarting. Log:\n{agent.Log}");
                        agent.Dispose();
                    }

                    // qemu-ga's working directory is the temp root, so requests can name scratch/... relatively.
                    agent = RealAgent.Start(Path.Combine(root, $"agent-{instance++:D3}"), root);
                }

                var result = AgentClient.Exchange(agent.SocketPath, c.Writes, c.ExpectedLines, TimeSpan.FromMilliseconds(c.WriteDelayMs));
                Thread.Sleep(20);
                var exited = agent.HasExited;
                WriteCase(file, c, result, exited, encoderOptions);
                recorded++;
                var first = result.Lines.Count > 0 ? Shorten(Display(result.Lines[0]).TrimEnd('\n'), 160) : "(no reply)";
                Console.WriteLine($"{c.Name,-48} {result.Lines.Count,5} line(s){(result.ExtraAfterWait ? " [+after wait]" : "")}{(exited ? " [AGENT EXITED]" : "")}  {first}");
            }
        }
        finally
        {
            agent?.Dispose();
        }
    }
}
finally
{
    Directory.Delete(root, recursive: true);
}

Console.WriteLine($"{recorded} cases written to {output} ({new FileInfo(output).Length} bytes)");
return 0;

static void WriteCase(Stream file, Case c, ExchangeResult result, bool agentExited, JsonWriterOptions options)
{
    using (var w = new Utf8JsonWriter(file, options))
    {
        w.WriteStartObject();
        w.WriteString("case", c.Name);
        w.WriteStartArray("writes");
        foreach (var write in c.Writes)
        {
            w.WriteStringValue(Convert.ToBase64String(write));
        }

        w.WriteEndArray();
        w.WriteString("sendText", Shorten(Display(c.Writes.SelectMany(x => x).ToArray()), 8192));
        w.WriteStartArray("replies");
        foreach (var line in result.Lines)
        {
            w.WriteStringValue(Convert.ToBase64String(line));
        }

        w.WriteEndArray();
        w.WriteStartArray("replyText");
        foreach (var line in result.Lines)
        {
            w.WriteStringValue(Shorten(Display(line), 8192));
        }

        w.WriteEndArray();
        if (c.Volatile)
        {
            w.WriteBoolean("volatile", true);
        }

        if (agentExited)
        {
            w.WriteBoolean("agentExited", true);
        }

        w.WriteEndObject();
    }

    file.WriteByte((byte)'\n');
}

// Bytes as readable text: valid UTF-8 stays, \t \n \r stay, other control bytes and invalid bytes become \xNN.
static string Display(byte[] bytes)
{
    var sb = new StringBuilder(bytes.Length);
    var span = bytes.AsSpan();
    while (!span.IsEmpty)
    {
        var b = span[0];
        if (b is (byte)'\t' or (byte)'\n' or (byte)'\r' || (b >= 0x20 && b < 0x7F))
        {
            sb.Append((char)b);
            span = span[1..];
            continue;
        }

        if (b >= 0x80 && System.Text.Rune.DecodeFromUtf8(span, out var rune, out var consumed) == System.Buffers.OperationStatus.Done)
        {
            sb.Append(rune.ToString());
            span = span[consumed..];
            continue;
        }

        sb.Append("\\x").Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
        span = span[1..];
    }

    return sb.ToString();
}

// Long texts (the 1 MiB request) keep only their head and tail; the exact bytes are in "writes" / "replies".
static string Shorten(string text, int max)
{
    if (text.Length <= max)
    {
        return text;
    }

    var keep = Math.Min(200, (max - 40) / 2);
    return string.Concat(text.AsSpan(0, keep), $"...[{text.Length - (2 * keep)} characters elided]...", text.AsSpan(text.Length - keep));
}
