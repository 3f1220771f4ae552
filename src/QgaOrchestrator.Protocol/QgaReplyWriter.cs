using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using QgaOrchestrator.Protocol.Json;

namespace QgaOrchestrator.Protocol;

/// <summary>
/// Writes agent replies as qemu-ga does: QEMU's spacing and escapes, members in QDict order,
/// one line each, and a leading 0xFF for the reply to <c>guest-sync-delimited</c>.
/// </summary>
public static class QgaReplyWriter
{
    // Above this size a result is written as System.Text.Json produced it: reformatting a 64 MiB
    // file-read reply would cost more than the read. Byte-for-byte qemu output matters for the
    // small replies clients pattern-match on, not for bulk data.
    private const int ReformatLimit = 256 * 1024;

    public static void WriteReturn<T>(IBufferWriter<byte> output, T value, JsonTypeInfo<T> type, JsonElement? id, bool delimited = false)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(value, type);
        WriteReturnJson(output, body, id, delimited);
    }

    /// <summary>A reply whose result is already JSON text.</summary>
    public static void WriteReturnJson(IBufferWriter<byte> output, ReadOnlySpan<byte> resultJson, JsonElement? id, bool delimited = false)
    {
        if (delimited) output.Write([QgaRequestWriter.Sentinel]);
        // QDict order for {"return", "id"} puts "return" first.
        output.Write("{\"return\": "u8);
        if (resultJson.Length <= ReformatLimit)
        {
            var reader = new Utf8JsonReader(resultJson);
            QemuJson.Write(output, JsonElement.ParseValue(ref reader), qdictOrder: true);
        }
        else
        {
            output.Write(resultJson);
        }
        WriteId(output, id);
        output.Write("}\n"u8);
    }

    public static void WriteError(IBufferWriter<byte> output, QgaError error, JsonElement? id)
    {
        // QDict order: "id" hashes to an earlier bucket than "error", and "class" before "desc".
        output.Write("{"u8);
        if (id is { } value)
        {
            output.Write("\"id\": "u8);
            QemuJson.Write(output, value, qdictOrder: true);
            output.Write(", "u8);
        }
        output.Write("\"error\": {\"class\": "u8);
        QemuJson.WriteString(output, error.Class);
        output.Write(", \"desc\": "u8);
        QemuJson.WriteString(output, error.Desc);
        output.Write("}}\n"u8);
    }

    private static void WriteId(IBufferWriter<byte> output, JsonElement? id)
    {
        if (id is not { } value) return;
        output.Write(", \"id\": "u8);
        QemuJson.Write(output, value, qdictOrder: true);
    }

    public static byte[] ErrorBytes(QgaError error, JsonElement? id = null)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        WriteError(buffer, error, id);
        return buffer.WrittenSpan.ToArray();
    }
}
