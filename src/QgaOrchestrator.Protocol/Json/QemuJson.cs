using System.Buffers;
using System.Text;
using System.Text.Json;

namespace QgaOrchestrator.Protocol.Json;

/// <summary>
/// Writes JSON the way QEMU's <c>qobject_to_json</c> does: <c>": "</c> and <c>", "</c> separators,
/// every non-ASCII character as a <c>\uXXXX</c> escape, invalid UTF-8 as <c>\uFFFD</c>.
/// Member order is kept as given; <see cref="QDictOrder"/> gives the order a QDict iterates in,
/// for replies that must match qemu-ga's byte for byte.
/// </summary>
public static class QemuJson
{
    private const int QDictBuckets = 512;

    public static byte[] Format(JsonElement element, bool qdictOrder = false)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Write(buffer, element, qdictOrder);
        return buffer.WrittenSpan.ToArray();
    }

    /// <param name="qdictOrder">Reorder object members as a QDict built in the given order would iterate.</param>
    public static void Write(IBufferWriter<byte> output, JsonElement element, bool qdictOrder = false)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                Ascii(output, "{");
                bool first = true;
                IEnumerable<JsonProperty> members = element.EnumerateObject();
                if (qdictOrder)
                {
                    var list = members.ToList();
                    members = list.Select((p, i) => (p, i, bucket: Bucket(p.Name)))
                        .OrderBy(x => x.bucket).ThenByDescending(x => x.i).Select(x => x.p).ToList();
                }
                foreach (var p in members)
                {
                    if (!first) Ascii(output, ", ");
                    first = false;
                    WriteString(output, p.Name);
                    Ascii(output, ": ");
                    Write(output, p.Value, qdictOrder);
                }
                Ascii(output, "}");
                break;
            case JsonValueKind.Array:
                Ascii(output, "[");
                bool firstItem = true;
                foreach (var item in element.EnumerateArray())
                {
                    if (!firstItem) Ascii(output, ", ");
                    firstItem = false;
                    Write(output, item, qdictOrder);
                }
                Ascii(output, "]");
                break;
            case JsonValueKind.String:
                WriteString(output, element.GetString()!);
                break;
            default:
                // Numbers, true, false, null: their text is already canonical.
                Ascii(output, element.GetRawText());
                break;
        }
    }

    /// <summary>A JSON string literal with QEMU's escapes.</summary>
    public static void WriteString(IBufferWriter<byte> output, string value)
    {
        var sb = new StringBuilder(value.Length + 2);
        sb.Append('"');
        foreach (var ch in value)
        {
            switch (ch)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (ch < 0x20 || ch >= 0x7f) sb.Append("\\u").Append(((int)ch).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
                    else sb.Append(ch);
                    break;
            }
        }
        sb.Append('"');
        Ascii(output, sb.ToString());
    }

    /// <summary>
    /// The order in which a QDict holding <paramref name="keysInInsertionOrder"/> iterates:
    /// by hash bucket, and within a bucket the most recently inserted key first.
    /// </summary>
    public static IReadOnlyList<string> QDictOrder(IReadOnlyList<string> keysInInsertionOrder) =>
        keysInInsertionOrder
            .Select((key, index) => (key, index, bucket: Bucket(key)))
            .OrderBy(k => k.bucket)
            .ThenByDescending(k => k.index)
            .Select(k => k.key)
            .ToList();

    internal static uint Bucket(string key) => Hash(Encoding.UTF8.GetBytes(key)) % QDictBuckets;

    // QEMU's qdict uses the tdb hash.
    private static uint Hash(ReadOnlySpan<byte> name)
    {
        unchecked
        {
            uint value = 0x238F13AF * (uint)name.Length;
            for (int i = 0; i < name.Length; i++)
                value += (uint)name[i] << (i * 5 % 24);
            return 1103515243 * value + 12345;
        }
    }

    private static void Ascii(IBufferWriter<byte> output, string text)
    {
        var span = output.GetSpan(text.Length);
        int n = Encoding.ASCII.GetBytes(text, span);
        output.Advance(n);
    }
}
