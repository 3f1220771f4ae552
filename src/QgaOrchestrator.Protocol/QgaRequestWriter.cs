using System.Buffers;
using System.Text.Json;

namespace QgaOrchestrator.Protocol;

/// <summary>
/// Encodes host requests: <c>{"execute": NAME, "arguments": {...}, "id": N}</c> and a newline.
/// The id lets the host check that a reply answers the request in flight.
/// </summary>
public static class QgaRequestWriter
{
    /// <summary>The byte that resets qemu-ga's lexer and prefixes the delimited sync reply.</summary>
    public const byte Sentinel = 0xFF;

    public static void Write<TArgs, TResult>(IBufferWriter<byte> output, QgaCommand<TArgs, TResult> command, TArgs arguments, long? id)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("execute"u8, command.Name);
        if (arguments is not NoArguments and not null)
        {
            writer.WritePropertyName("arguments"u8);
            JsonSerializer.Serialize(writer, arguments, command.ArgumentsType);
        }
        if (id is { } n) writer.WriteNumber("id"u8, n);
        writer.WriteEndObject();
        writer.Flush();
        output.Write("\n"u8);
    }

    /// <summary>A request by name with raw JSON arguments, for pass-through APIs.</summary>
    public static void WriteRaw(IBufferWriter<byte> output, string command, JsonElement? arguments, long? id)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("execute"u8, command);
        if (arguments is { ValueKind: not JsonValueKind.Undefined and not JsonValueKind.Null } args)
        {
            writer.WritePropertyName("arguments"u8);
            args.WriteTo(writer);
        }
        if (id is { } n) writer.WriteNumber("id"u8, n);
        writer.WriteEndObject();
        writer.Flush();
        output.Write("\n"u8);
    }

    /// <summary>0xFF, then <c>guest-sync-delimited</c> with <paramref name="syncId"/>: the resync handshake.</summary>
    public static byte[] SyncDelimited(long syncId)
    {
        var buffer = new ArrayBufferWriter<byte>(96);
        buffer.Write([Sentinel]);
        Write(buffer, Qga.QgaCommands.GuestSyncDelimited, new Qga.GuestSyncDelimitedArguments { Id = syncId }, id: null);
        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] ToBytes<TArgs, TResult>(QgaCommand<TArgs, TResult> command, TArgs arguments, long? id = null)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        Write(buffer, command, arguments, id);
        return buffer.WrittenSpan.ToArray();
    }
}
