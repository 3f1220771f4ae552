using System.Text;
using QgaOrchestrator.Protocol.Framing;

namespace QgaOrchestrator.Protocol.Tests;

public sealed class JsonRequestStreamerSpec
{
    private static List<StreamedRequest> Feed(JsonRequestStreamer s, byte[] bytes)
    {
        var output = new List<StreamedRequest>();
        s.Feed(bytes, output);
        return output;
    }

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void JsonRequestStreamer_must_frame_requests_without_newlines()
    {
        var output = Feed(new JsonRequestStreamer(), B("{\"execute\":\"guest-ping\"}{\"execute\":\"guest-info\"}  {\"execute\":\"x\",\"arguments\":{\"a\":[1,{\"b\":2}]}}"));

        Assert.Equal(3, output.Count);
        Assert.All(output, o => Assert.IsType<StreamedRequest.Value>(o));
        Assert.Equal("guest-info", ((StreamedRequest.Value)output[1]).Root.GetProperty("execute").GetString());
    }

    [Fact]
    public void JsonRequestStreamer_must_reassemble_a_request_fed_byte_by_byte()
    {
        var streamer = new JsonRequestStreamer();
        var output = new List<StreamedRequest>();
        foreach (var b in B("{\"execute\": \"guest-sync\", \"arguments\": {\"id\": 12345}}"))
        {
            streamer.Feed([b], output);
        }
        var value = Assert.IsType<StreamedRequest.Value>(Assert.Single(output));
        Assert.Equal(12345, value.Root.GetProperty("arguments").GetProperty("id").GetInt64());
    }

    [Fact]
    public void JsonRequestStreamer_must_answer_a_sentinel_with_one_error_and_drop_the_partial_request()
    {
        var streamer = new JsonRequestStreamer();
        var stale = Feed(streamer, B("{\"execute\":\"guest-pi"));
        var output = Feed(streamer, [0xFF, .. B("{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":99}}")]);

        Assert.Empty(stale);
        Assert.Equal(2, output.Count);
        // As in qemu's lexer, the error token is the unfinished token plus the bad byte.
        Assert.Equal("JSON parse error, stray '\"guest-pi\uFFFD'", Assert.IsType<StreamedRequest.ParseError>(output[0]).Desc);
        Assert.Equal(99, ((StreamedRequest.Value)output[1]).Root.GetProperty("arguments").GetProperty("id").GetInt64());
    }

    [Fact]
    public void JsonRequestStreamer_must_give_one_error_per_sentinel_byte()
    {
        var output = Feed(new JsonRequestStreamer(), [0xFF, 0xFF, 0xFF]);
        Assert.Equal(3, output.Count);
        Assert.All(output, o => Assert.IsType<StreamedRequest.ParseError>(o));
    }

    [Fact]
    public void JsonRequestStreamer_must_complete_top_level_scalars_and_stray_closers_at_once()
    {
        var output = Feed(new JsonRequestStreamer(), B("} ] [1,2] \"s\" "));

        Assert.Equal(4, output.Count);
        Assert.IsType<StreamedRequest.ParseError>(output[0]);
        Assert.IsType<StreamedRequest.ParseError>(output[1]);
        Assert.Equal(System.Text.Json.JsonValueKind.Array, ((StreamedRequest.Value)output[2]).Root.ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.String, ((StreamedRequest.Value)output[3]).Root.ValueKind);
    }

    [Fact]
    public void JsonRequestStreamer_must_limit_nesting_like_qemu()
    {
        var output = Feed(new JsonRequestStreamer(), B(new string('[', 1025)));
        var error = Assert.IsType<StreamedRequest.ParseError>(Assert.Single(output));
        Assert.Equal("JSON nesting depth limit exceeded", error.Desc);
    }

    [Fact]
    public void JsonRequestStreamer_must_accept_single_quoted_strings()
    {
        var output = Feed(new JsonRequestStreamer(), B("{'execute': 'guest-ping', 'id': 'it\\'s \"q\"'}"));
        var value = Assert.IsType<StreamedRequest.Value>(Assert.Single(output));
        Assert.Equal("it's \"q\"", value.Root.GetProperty("id").GetString());
    }

    [Fact]
    public void JsonRequestStreamer_must_report_invalid_utf8_and_duplicate_keys()
    {
        var streamer = new JsonRequestStreamer();
        var badUtf8 = Feed(streamer, [.. B("{\"execute\": \""), 0xC3, 0x28, .. B("\"}")]);
        var duplicate = Feed(streamer, B("{\"execute\": \"a\", \"execute\": \"b\"}"));

        Assert.Contains("UTF-8", Assert.IsType<StreamedRequest.ParseError>(Assert.Single(badUtf8)).Desc);
        Assert.Contains("duplicate key", Assert.IsType<StreamedRequest.ParseError>(Assert.Single(duplicate)).Desc);
    }

    [Fact]
    public void JsonRequestStreamer_must_bound_the_bytes_it_holds()
    {
        var streamer = new JsonRequestStreamer(new FramingLimits { MaxMessageBytes = 4096 });
        var output = new List<StreamedRequest>();
        streamer.Feed(B("{\"a\": ["), output);
        for (int i = 0; i < 2000; i++)
        {
            streamer.Feed(B("\"xxxxxxxx\","), output);
            Assert.True(streamer.BufferedBytes <= 4096 * 2 + 64);
        }
        Assert.Contains(output, o => o is StreamedRequest.ParseError { Desc: "JSON token size limit exceeded" });
    }
}
