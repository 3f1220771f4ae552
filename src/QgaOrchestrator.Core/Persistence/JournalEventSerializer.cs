using System.Collections.Concurrent;
using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Serialization;

namespace QgaOrchestrator.Core.Persistence;

/// <summary>
/// Marker of everything the orchestrator journals (saga events). Bound to <see cref="JournalEventSerializer"/>
/// by interface, so a new event type only has to implement it (directly or through its saga's event interface).
/// </summary>
public interface IJournalEvent;

/// <summary>
/// Several events journaled as ONE row (one <c>Persist</c>): a 1,000-VM step is one insert instead of a
/// thousand. Recovery applies <see cref="Events"/> in order, exactly as if they had been persisted one by one.
/// </summary>
public sealed record JournalBatch(IReadOnlyList<IJournalEvent> Events) : IJournalEvent;

/// <summary>
/// Compact System.Text.Json serializer for <see cref="IJournalEvent"/> records: UTF-8 JSON of the record, the
/// manifest is the type's full name. About an order of magnitude cheaper than Akka's default Newtonsoft
/// serializer (no type-name handling, no reflection per call) and a third of the bytes. Any record with a
/// constructor System.Text.Json can bind (positional records with plain List/Dictionary members) works
/// without registration; only types implementing <see cref="IJournalEvent"/> are ever instantiated.
/// </summary>
public sealed class JournalEventSerializer : SerializerWithStringManifest
{
    public JournalEventSerializer(ExtendedActorSystem system) : base(system) =>
        // Build the reflection metadata off the critical path: the first saga must not pay for it.
        _ = Task.Run(() =>
        {
            foreach (var t in typeof(IJournalEvent).Assembly.GetTypes().Where(t => !t.IsAbstract && typeof(IJournalEvent).IsAssignableFrom(t)))
                Options.GetTypeInfo(t);
        });

    /// <summary>Akka serializer id (ids below 100 are Akka's own).</summary>
    public const int Id = 7301;
    public const string Name = "qga-journal";

    private static readonly JsonSerializerOptions Options = new()
    {
        Converters = { new JsonStringEnumConverter() }, // enums by name: safe against reordering
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private static readonly ConcurrentDictionary<string, Type> Types = new(StringComparer.Ordinal);

    public override int Identifier => Id;

    public override byte[] ToBinary(object obj) => obj is JournalBatch batch
        ? WriteBatch(batch)
        : JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Options);

    public override string Manifest(object o) => o.GetType().FullName!;

    public override object FromBinary(byte[] bytes, string manifest) => manifest == BatchManifest
        ? ReadBatch(bytes)
        : JsonSerializer.Deserialize(bytes, Types.GetOrAdd(manifest, Resolve), Options)
            ?? throw new SerializationException($"null journal event of type {manifest}");

    private static readonly string BatchManifest = typeof(JournalBatch).FullName!;

    // A batch is [[manifest, event], ...]: each event keeps its own type name.
    private static byte[] WriteBatch(JournalBatch batch)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256 * batch.Events.Count + 16);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var e in batch.Events)
            {
                writer.WriteStartArray();
                writer.WriteStringValue(e.GetType().FullName);
                JsonSerializer.Serialize(writer, e, e.GetType(), Options);
                writer.WriteEndArray();
            }
            writer.WriteEndArray();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static JournalBatch ReadBatch(byte[] bytes)
    {
        var reader = new Utf8JsonReader(bytes);
        var events = new List<IJournalEvent>();
        Expect(ref reader, JsonTokenType.StartArray);
        while (reader.Read() && reader.TokenType == JsonTokenType.StartArray)
        {
            Expect(ref reader, JsonTokenType.String);
            var type = Types.GetOrAdd(reader.GetString()!, Resolve);
            reader.Read();
            events.Add((IJournalEvent)(JsonSerializer.Deserialize(ref reader, type, Options)
                ?? throw new SerializationException($"null journal event of type {type}")));
            Expect(ref reader, JsonTokenType.EndArray);
        }
        return new JournalBatch(events);
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType token)
    {
        if (!reader.Read() || reader.TokenType != token)
            throw new SerializationException($"malformed journal batch: expected {token} at byte {reader.TokenStartIndex}");
    }

    private static Type Resolve(string manifest)
    {
        var type = typeof(IJournalEvent).Assembly.GetType(manifest, throwOnError: false)
            ?? AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(manifest, throwOnError: false)).FirstOrDefault(t => t is not null);
        return type is not null && typeof(IJournalEvent).IsAssignableFrom(type)
            ? type
            : throw new SerializationException($"unknown journal event type '{manifest}'");
    }
}
