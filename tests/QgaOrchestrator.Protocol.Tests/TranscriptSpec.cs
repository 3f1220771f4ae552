using System.Text;
using System.Text.Json;
using QgaOrchestrator.Protocol.Framing;
using QgaOrchestrator.Protocol.Json;
using QgaOrchestrator.Protocol.Qga;

namespace QgaOrchestrator.Protocol.Tests;

/// <summary>
/// Golden conversations recorded from Debian's qemu-ga 7.2 (Transcripts/qemu-ga-7.2.jsonl, see its
/// README). The codec must re-encode every reply byte for byte, and the agent-side reader and checks
/// must cut the same input into the same messages and the same errors as qemu-ga did.
/// </summary>
public sealed class TranscriptSpec
{
    public sealed record Case(string Name, IReadOnlyList<byte[]> Writes, IReadOnlyList<byte[]> Replies, bool Volatile)
    {
        public override string ToString() => Name;
    }

    private static readonly Lazy<IReadOnlyList<Case>> All = new(Load);

    private static IReadOnlyList<Case> Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Transcripts", "qemu-ga-7.2.jsonl");
        return File.ReadLines(path).Where(l => l.Length > 0).Select(line =>
        {
            using var doc = JsonDocument.Parse(line);
            var r = doc.RootElement;
            return new Case(
                r.GetProperty("case").GetString()!,
                r.GetProperty("writes").EnumerateArray().Select(w => Convert.FromBase64String(w.GetString()!)).ToList(),
                r.GetProperty("replies").EnumerateArray().Select(w => Convert.FromBase64String(w.GetString()!)).ToList(),
                r.TryGetProperty("volatile", out var v) && v.GetBoolean());
        }).ToList();
    }

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in All.Value) data.Add(c.Name);
        return data;
    }

    private static Case Get(string name) => All.Value.Single(c => c.Name == name);

    [Fact]
    public void Transcripts_must_be_present_and_cover_the_recorded_cases()
    {
        Assert.True(All.Value.Count >= 100, $"only {All.Value.Count} cases");
        Assert.Equal(All.Value.Count, All.Value.Select(c => c.Name).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Codec_must_re_encode_every_reply_byte_for_byte(string name)
    {
        foreach (var reply in Get(name).Replies)
        {
            var framer = new JsonLineFramer();
            var frames = new List<FramedLine>();
            framer.Feed(reply, frames);
            var line = Assert.IsType<FramedLine.Line>(Assert.Single(frames));
            var parsed = QgaReply.Parse(line).Reply;
            Assert.NotNull(parsed);

            var root = JsonDocument.Parse(line.Json).RootElement;
            var again = (line.Delimited ? new byte[] { 0xFF } : [])
                .Concat(QemuJson.Format(root)).Append((byte)'\n').ToArray();
            Assert.Equal(Encoding.Latin1.GetString(reply), Encoding.Latin1.GetString(again));
        }
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Agent_reader_must_cut_input_into_the_messages_qemu_ga_answered(string name)
    {
        var c = Get(name);
        var streamer = new JsonRequestStreamer();
        var requests = new List<StreamedRequest>();
        foreach (var w in c.Writes) streamer.Feed(w, requests);

        Assert.Equal(c.Replies.Count, requests.Count);
        for (int i = 0; i < requests.Count; i++)
        {
            var reply = ParseReply(c.Replies[i]);
            var expected = Expected(requests[i]);
            if (expected is null) continue; // dispatched to a command: the agent's own tests compare those replies
            Assert.NotNull(reply.Error);
            Assert.Equal(QgaErrorClass.GenericError, reply.Error!.Class);
            Assert.Equal(reply.Error.Desc, expected);
        }

        string? Expected(StreamedRequest request)
        {
            if (request is StreamedRequest.ParseError e) return e.Desc;
            var root = ((StreamedRequest.Value)request).Root;
            if (!QgaRequestEnvelope.TryParse(root, out var envelope, out var error, out _)) return error!.Desc;
            var command = QgaCommands.All.FirstOrDefault(x => x.Name == envelope!.Execute);
            var replyError = ParseReply(c.Replies[requests.IndexOf(request)]).Error;
            // Argument errors are checked before the command runs; a blocked or unknown command answers first.
            if (command is null || replyError is null || replyError.Class != QgaErrorClass.GenericError) return null;
            if (!replyError.Desc.StartsWith("Parameter", StringComparison.Ordinal) && !replyError.Desc.StartsWith("Invalid parameter", StringComparison.Ordinal)) return null;
            return ArgumentValidator.Validate(command.Arguments, envelope!.Arguments);
        }
    }

    private static QgaReply ParseReply(byte[] bytes)
    {
        var frames = new List<FramedLine>();
        new JsonLineFramer().Feed(bytes, frames);
        return QgaReply.Parse((FramedLine.Line)frames.Single()).Reply!;
    }
}
