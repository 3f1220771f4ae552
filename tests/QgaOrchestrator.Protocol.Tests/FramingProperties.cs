using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using QgaOrchestrator.Protocol.Framing;

namespace QgaOrchestrator.Protocol.Tests;

/// <summary>Any split of a stream gives the same frames; garbage never throws or grows memory past the limit.</summary>
public sealed class FramingProperties
{
    private static readonly byte[] ReplyStream = Encoding.UTF8.GetBytes(
        "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\uFFFD'\"}}\n")
        .Concat(new byte[] { 0xFF })
        .Concat(Encoding.UTF8.GetBytes("{\"return\": 99}\n{\"return\": {\"version\": \"7.2.22\", \"supported_commands\": []}}\n{\"return\": {}, \"id\": \"abc\"}\n"))
        .ToArray();

    private static readonly byte[] RequestStream = Encoding.UTF8.GetBytes("{\"execute\":\"guest-pi")
        .Concat(new byte[] { 0xFF })
        .Concat(Encoding.UTF8.GetBytes("{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":99}}{\"execute\": \"guest-ping\", \"id\": [1, {\"a\": \"}\"}]}\n[1,2] 17 }"))
        .ToArray();

    private static List<int> Cuts(int[] raw, int length) =>
        raw.Select(r => Math.Abs(r % (length + 1))).Distinct().Order().ToList();

    private static IEnumerable<byte[]> Split(byte[] data, List<int> cuts)
    {
        int start = 0;
        foreach (var cut in cuts.Append(data.Length))
        {
            if (cut < start) continue;
            yield return data[start..cut];
            start = cut;
        }
    }

    private static string Describe(IEnumerable<FramedLine> frames) => string.Join("|", frames.Select(f => f switch
    {
        FramedLine.Line l => (l.Delimited ? "D:" : "L:") + Encoding.UTF8.GetString(l.Json.Span),
        FramedLine.Rejected r => "R:" + r.Kind,
        _ => "?",
    }));

    private static string Describe(IEnumerable<StreamedRequest> requests) => string.Join("|", requests.Select(r => r switch
    {
        StreamedRequest.Value v => "V:" + v.Root.GetRawText(),
        StreamedRequest.ParseError e => "E:" + e.Desc,
        _ => "?",
    }));

    [Property(MaxTest = 300)]
    public bool JsonLineFramer_must_give_the_same_frames_for_any_split(int[] rawCuts)
    {
        var whole = new List<FramedLine>();
        new JsonLineFramer().Feed(ReplyStream, whole);
        var framer = new JsonLineFramer();
        var pieces = new List<FramedLine>();
        foreach (var chunk in Split(ReplyStream, Cuts(rawCuts ?? [], ReplyStream.Length))) framer.Feed(chunk, pieces);
        return Describe(whole) == Describe(pieces) && whole.Count == 4;
    }

    [Property(MaxTest = 300)]
    public bool JsonRequestStreamer_must_give_the_same_requests_for_any_split(int[] rawCuts)
    {
        var whole = new List<StreamedRequest>();
        new JsonRequestStreamer().Feed(RequestStream, whole);
        var streamer = new JsonRequestStreamer();
        var pieces = new List<StreamedRequest>();
        foreach (var chunk in Split(RequestStream, Cuts(rawCuts ?? [], RequestStream.Length))) streamer.Feed(chunk, pieces);
        // The trailing '}' ends the stream: a stray closer at depth 0 is complete at once, so nothing waits for more input.
        return Describe(whole) == Describe(pieces) && whole.Count == 6;
    }

    [Property(MaxTest = 500)]
    public bool JsonLineFramer_must_never_throw_or_exceed_its_limit_on_garbage(byte[][] chunks)
    {
        var limits = new FramingLimits { MaxMessageBytes = 512, MaxDepth = 16 };
        var framer = new JsonLineFramer(limits);
        var output = new List<FramedLine>();
        foreach (var chunk in chunks ?? [])
        {
            framer.Feed(chunk ?? [], output);
            if (framer.BufferedBytes > limits.MaxMessageBytes) return false;
        }
        foreach (var line in output.OfType<FramedLine.Line>())
        {
            var parsed = QgaReply.Parse(line, limits);
            if (parsed.Reply is null && parsed.Rejected is null) return false;
        }
        return true;
    }

    [Property(MaxTest = 500)]
    public bool JsonRequestStreamer_must_never_throw_or_exceed_its_limit_on_garbage(byte[][] chunks)
    {
        var limits = new FramingLimits { MaxMessageBytes = 512, MaxDepth = 16, MaxTokens = 64 };
        var streamer = new JsonRequestStreamer(limits);
        var output = new List<StreamedRequest>();
        foreach (var chunk in chunks ?? [])
        {
            streamer.Feed(chunk ?? [], output);
            if (streamer.BufferedBytes > 2 * limits.MaxMessageBytes + 64) return false;
        }
        return true;
    }

    /// <summary>Garbage biased towards the bytes that matter: structure, quotes, escapes, sentinels, newlines.</summary>
    [Property(MaxTest = 300)]
    public Property JsonRequestStreamer_must_survive_structured_garbage() =>
        Prop.ForAll(
            Gen.Elements<byte>((byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)'"', (byte)'\\', (byte)':', (byte)',',
                (byte)'a', (byte)'1', 0xFF, 0xFE, 0x01, (byte)'\n', (byte)'\'', 0xC3).ArrayOf().ToArbitrary(),
            bytes =>
            {
                var limits = new FramingLimits { MaxMessageBytes = 256, MaxDepth = 8, MaxTokens = 32 };
                var streamer = new JsonRequestStreamer(limits);
                var output = new List<StreamedRequest>();
                streamer.Feed(bytes, output);
                // After garbage, a sentinel and a clean request must still be understood.
                streamer.Feed([0xFF, .. "{\"execute\":\"guest-ping\"}"u8], output);
                return output.LastOrDefault() is StreamedRequest.Value v && v.Root.GetProperty("execute").GetString() == "guest-ping";
            });
}
