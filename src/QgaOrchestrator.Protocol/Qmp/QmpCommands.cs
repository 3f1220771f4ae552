using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace QgaOrchestrator.Protocol.Qmp;

/// <summary>The QMP commands the orchestrator sends, and how they are encoded.</summary>
public static class QmpCommands
{
    public const string Capabilities = "qmp_capabilities";
    public const string Transaction = "transaction";
    public const string QueryStatus = "query-status";
    public const string QueryCurrentMachine = "query-current-machine";
    /// <summary>Every block node with its file and backing file: where a disk's chain tops out now.</summary>
    public const string QueryNamedBlockNodes = "query-named-block-nodes";
    public const string SystemWakeup = "system_wakeup";
    public const string SystemPowerdown = "system_powerdown";

    /// <summary><c>{"execute": NAME, "arguments": ARGS, "id": ID}</c> and a newline.</summary>
    public static byte[] Encode(string command, JsonElement? arguments, long id)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        QgaRequestWriter.WriteRaw(buffer, command, arguments, id);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>One <c>transaction</c> snapshotting every given disk atomically.</summary>
    public static byte[] EncodeSnapshotTransaction(IEnumerable<BlockdevSnapshotSync> snapshots, long id)
    {
        var args = new TransactionArguments
        {
            Actions = snapshots.Select(s => new TransactionAction { Type = "blockdev-snapshot-sync", Data = s }).ToList(),
        };
        var element = JsonSerializer.SerializeToElement(args, QmpJsonContext.Default.TransactionArguments);
        return Encode(Transaction, element, id);
    }
}

/// <summary>The <c>blockdev-snapshot-sync</c> action addressed by node name.</summary>
public sealed record BlockdevSnapshotSync
{
    [JsonPropertyName("node-name")] public required string NodeName { get; init; }
    [JsonPropertyName("snapshot-file")] public required string SnapshotFile { get; init; }
    [JsonPropertyName("snapshot-node-name")] public required string SnapshotNodeName { get; init; }
    [JsonPropertyName("format")] public string Format { get; init; } = "qcow2";
}

public sealed record TransactionAction
{
    [JsonPropertyName("type")] public required string Type { get; init; }
    [JsonPropertyName("data")] public required BlockdevSnapshotSync Data { get; init; }
}

public sealed record TransactionArguments
{
    [JsonPropertyName("actions")] public required IReadOnlyList<TransactionAction> Actions { get; init; }
}

/// <summary>The reply to <c>query-status</c>.</summary>
public sealed record QmpStatusInfo
{
    [JsonPropertyName("running")] public required bool Running { get; init; }
    [JsonPropertyName("status")] public required string Status { get; init; }
}

/// <summary>The reply to <c>query-current-machine</c>.</summary>
public sealed record QmpCurrentMachine
{
    [JsonPropertyName("wakeup-suspend-support")] public required bool WakeupSuspendSupport { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TransactionArguments))]
[JsonSerializable(typeof(QmpStatusInfo))]
[JsonSerializable(typeof(QmpCurrentMachine))]
public sealed partial class QmpJsonContext : JsonSerializerContext;
