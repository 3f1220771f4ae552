using System.Buffers;
using System.Text;
using System.Text.Json;
using QgaOrchestrator.Protocol.Json;
using QgaOrchestrator.Protocol.Qga;

namespace QgaOrchestrator.Protocol.Tests;

public sealed class WireCodecSpec
{
    private static string Utf8(ReadOnlySpan<byte> b) => Encoding.UTF8.GetString(b);

    [Fact]
    public void Request_writer_must_use_schema_wire_names_and_omit_absent_members()
    {
        var bytes = QgaRequestWriter.ToBytes(QgaCommands.GuestFileRead, new GuestFileReadArguments { Handle = 1000 }, id: 7);
        Assert.Equal("{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1000},\"id\":7}\n", Utf8(bytes));

        var ping = QgaRequestWriter.ToBytes(QgaCommands.GuestPing, NoArguments.Instance);
        Assert.Equal("{\"execute\":\"guest-ping\"}\n", Utf8(ping));
    }

    [Fact]
    public void Sync_delimited_must_start_with_the_sentinel()
    {
        var bytes = QgaRequestWriter.SyncDelimited(99);
        Assert.Equal(0xFF, bytes[0]);
        Assert.Equal("{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":99}}\n", Utf8(bytes.AsSpan(1)));
    }

    [Fact]
    public void Reply_writer_must_write_qemu_spacing_order_and_sentinel()
    {
        var buffer = new ArrayBufferWriter<byte>();
        QgaReplyWriter.WriteReturn(buffer, 99L, QgaCommands.GuestSyncDelimited.ResultType, id: null, delimited: true);
        Assert.Equal(0xFF, buffer.WrittenSpan[0]);
        Assert.Equal("{\"return\": 99}\n", Utf8(buffer.WrittenSpan[1..]));

        var info = new GuestAgentInfo
        {
            Version = "7.2.22",
            SupportedCommands = [new GuestAgentCommandInfo { Name = "guest-ping", Enabled = true, SuccessResponse = true }],
        };
        var infoBuffer = new ArrayBufferWriter<byte>();
        QgaReplyWriter.WriteReturn(infoBuffer, info, QgaCommands.GuestInfo.ResultType, JsonDocument.Parse("\"abc\"").RootElement);
        Assert.Equal(
            "{\"return\": {\"version\": \"7.2.22\", \"supported_commands\": [{\"enabled\": true, \"name\": \"guest-ping\", \"success-response\": true}]}, \"id\": \"abc\"}\n",
            Utf8(infoBuffer.WrittenSpan));
    }

    [Fact]
    public void Error_writer_must_match_qemu_ga()
    {
        var bytes = QgaReplyWriter.ErrorBytes(QgaError.CommandNotFound("guest-nope"));
        Assert.Equal("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command guest-nope has not been found\"}}\n", Utf8(bytes));
    }

    [Fact]
    public void QemuJson_must_escape_like_qemu()
    {
        var buffer = new ArrayBufferWriter<byte>();
        QemuJson.WriteString(buffer, "a\"b\\c\n\u0001é\uFFFD/");
        Assert.Equal("\"a\\\"b\\\\c\\n\\u0001\\u00E9\\uFFFD/\"", Utf8(buffer.WrittenSpan));
    }

    [Fact]
    public void Generated_enums_and_optional_members_must_round_trip_with_wire_names()
    {
        var iface = new GuestNetworkInterface
        {
            Name = "lo",
            IpAddresses = [new GuestIpAddress { IpAddress = "127.0.0.1", IpAddressType = GuestIpAddressType.Ipv4, Prefix = 8 }],
        };
        var json = JsonSerializer.Serialize(iface, QgaCommands.GuestNetworkGetInterfaces.ResultType.Options.GetTypeInfo(typeof(GuestNetworkInterface)));
        Assert.Equal("{\"name\":\"lo\",\"ip-addresses\":[{\"ip-address\":\"127.0.0.1\",\"ip-address-type\":\"ipv4\",\"prefix\":8}]}", json);

        var back = JsonSerializer.Deserialize("\"frozen\"", QgaCommands.GuestFsfreezeStatus.ResultType);
        Assert.Equal(GuestFsfreezeStatus.Frozen, back);
    }
}
