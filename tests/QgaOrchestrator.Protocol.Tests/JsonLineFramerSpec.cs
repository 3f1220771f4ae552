using System.Text;
using QgaOrchestrator.Protocol.Framing;

namespace QgaOrchestrator.Protocol.Tests;

public sealed class JsonLineFramerSpec
{
    private static List<FramedLine> FeedAll(JsonLineFramer framer, params byte[][] chunks)
    {
        var output = new List<FramedLine>();
        foreach (var c in chunks) framer.Feed(c, output);
        return output;
    }

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static string Text(FramedLine f) => Encoding.UTF8.GetString(((FramedLine.Line)f).Json.Span);

    [Fact]
    public void JsonLineFramer_must_split_lines_and_mark_the_line_after_a_sentinel()
    {
        var framer = new JsonLineFramer();
        var frames = FeedAll(framer,
            B("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\uFFFD'\"}}\n"),
            [0xFF], B("{\"return\": 99}\n{\"return\": {}}\n"));

        Assert.Equal(3, frames.Count);
        Assert.False(((FramedLine.Line)frames[0]).Delimited);
        Assert.True(((FramedLine.Line)frames[1]).Delimited);
        Assert.Equal("{\"return\": 99}", Text(frames[1]));
        Assert.False(((FramedLine.Line)frames[2]).Delimited);
    }

    [Fact]
    public void JsonLineFramer_must_drop_a_partial_line_when_a_sentinel_arrives()
    {
        var framer = new JsonLineFramer();
        var frames = FeedAll(framer, B("{\"return\": stale hal"), [0xFF], B("{\"return\": 7}\n"));

        var line = Assert.IsType<FramedLine.Line>(Assert.Single(frames));
        Assert.True(line.Delimited);
        Assert.Equal("{\"return\": 7}", Text(line));
    }

    [Fact]
    public void JsonLineFramer_must_reject_an_over_long_line_without_buffering_it_and_recover()
    {
        var framer = new JsonLineFramer(new FramingLimits { MaxMessageBytes = 1024 });
        var output = new List<FramedLine>();
        var junk = new byte[300];
        Array.Fill(junk, (byte)'x');
        for (int i = 0; i < 100; i++)
        {
            framer.Feed(junk, output);
            Assert.True(framer.BufferedBytes <= 1024);
        }
        framer.Feed(B("tail\n{\"return\": 1}\n"), output);

        Assert.Equal(2, output.Count);
        Assert.Equal(FramingErrorKind.TooLarge, Assert.IsType<FramedLine.Rejected>(output[0]).Kind);
        Assert.Equal("{\"return\": 1}", Text(output[1]));
    }

    [Fact]
    public void JsonLineFramer_must_reject_invalid_utf8_as_a_typed_error()
    {
        var framer = new JsonLineFramer();
        var frames = FeedAll(framer, [(byte)'"', 0xC3, 0x28, (byte)'"', (byte)'\n']);

        Assert.Equal(FramingErrorKind.InvalidUtf8, Assert.IsType<FramedLine.Rejected>(Assert.Single(frames)).Kind);
    }

    [Fact]
    public void JsonLineFramer_must_skip_blank_lines()
    {
        var frames = FeedAll(new JsonLineFramer(), B("\n\r\n  \n{\"return\": {}}\n"));
        Assert.Single(frames);
    }

    [Fact]
    public void QgaReply_must_turn_too_deep_and_non_reply_lines_into_rejections()
    {
        var limits = new FramingLimits { MaxDepth = 8 };
        var deep = new FramedLine.Line(B("{\"return\": " + new string('[', 20) + new string(']', 20) + "}"), false);
        var notReply = new FramedLine.Line(B("{\"hello\": 1}"), false);
        var notJson = new FramedLine.Line(B("{\"return\": }"), false);

        Assert.Equal(FramingErrorKind.TooDeep, QgaReply.Parse(deep, limits).Rejected!.Kind);
        Assert.Equal(FramingErrorKind.UnexpectedMessage, QgaReply.Parse(notReply).Rejected!.Kind);
        Assert.Equal(FramingErrorKind.InvalidJson, QgaReply.Parse(notJson).Rejected!.Kind);
    }

    [Fact]
    public void QgaReply_must_read_return_error_and_id()
    {
        var ok = QgaReply.Parse(new FramedLine.Line(B("{\"return\": 5, \"id\": 42}"), true)).Reply!;
        var err = QgaReply.Parse(new FramedLine.Line(B("{\"id\": \"x\", \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"d\"}}"), false)).Reply!;

        Assert.Equal(5, ok.Return!.Value.GetInt32());
        Assert.Equal(42, ok.IntegerId);
        Assert.True(ok.Delimited);
        Assert.Equal(new QgaError("CommandNotFound", "d"), err.Error);
        Assert.Null(err.IntegerId);
    }

    [Fact]
    public async Task PipeLineReader_must_deliver_lines_from_a_pipe_and_end_with_null()
    {
        var pipe = new System.IO.Pipelines.Pipe();
        var reader = new PipeLineReader(pipe.Reader);
        await pipe.Writer.WriteAsync(B("{\"return\": 1}\n{\"ret"));
        await pipe.Writer.WriteAsync(B("urn\": 2}\n"));
        await pipe.Writer.CompleteAsync();

        var first = await reader.ReadAsync();
        var second = await reader.ReadAsync();
        var end = await reader.ReadAsync();

        Assert.Equal("{\"return\": 1}", Text(first!));
        Assert.Equal("{\"return\": 2}", Text(second!));
        Assert.Null(end);
    }
}
