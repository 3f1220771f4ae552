using System.Buffers;
using System.Text.Json;
using QgaOrchestrator.Protocol;
using QgaOrchestrator.Protocol.Qga;

namespace QgaAgent.Dispatch;

/// <summary>A command failure with qemu-ga's desc; becomes a GenericError reply.</summary>
internal sealed class CommandFailedException(string desc) : Exception(desc);

/// <summary>
/// How a handler answers: a typed result, nothing (success of a no-success-response command), or
/// bytes it writes itself (the file-read fast path).
/// </summary>
internal readonly struct CommandResult<T>
{
    public T? Value { get; private init; }
    public bool NoReply { get; private init; }
    public Action<IBufferWriter<byte>>? RawResult { get; private init; }

    public static CommandResult<T> Of(T value) => new() { Value = value };
    public static CommandResult<T> None() => new() { NoReply = true };
    /// <summary>The writer gets called with the output and writes the JSON of the result value only.</summary>
    public static CommandResult<T> Raw(Action<IBufferWriter<byte>> write) => new() { RawResult = write };

    public static implicit operator CommandResult<T>(T value) => Of(value);
}

/// <summary>A registered command: its schema descriptor and a handler that writes the reply.</summary>
internal sealed class RegisteredCommand(QgaCommandDescriptor descriptor, Func<JsonElement?, IBufferWriter<byte>, JsonElement?, bool, bool> invoke)
{
    public QgaCommandDescriptor Descriptor { get; } = descriptor;

    /// <summary>Deserializes the arguments, runs, writes the reply (unless none is due); true when a reply was written.</summary>
    public Func<JsonElement?, IBufferWriter<byte>, JsonElement?, bool, bool> Invoke { get; } = invoke;
}

/// <summary>Commands by wire name, built against <see cref="QgaCommands.All"/>.</summary>
internal sealed class CommandRegistry
{
    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement;
    private readonly Dictionary<string, RegisteredCommand> _commands = new(StringComparer.Ordinal);

    public IEnumerable<RegisteredCommand> Commands =>
        QgaCommands.All.Where(c => _commands.ContainsKey(c.Name)).Select(c => _commands[c.Name]);

    public bool TryGet(string name, out RegisteredCommand command) => _commands.TryGetValue(name, out command!);

    public void Register<TArgs, TResult>(QgaCommand<TArgs, TResult> command, Func<TArgs, CommandResult<TResult>> handler)
    {
        _commands[command.Name] = new RegisteredCommand(command, (args, output, id, delimited) =>
        {
            TArgs typed;
            if (typeof(TArgs) == typeof(NoArguments)) typed = (TArgs)(object)NoArguments.Instance;
            else
            {
                typed = (args ?? EmptyObject).Deserialize(command.ArgumentsType)
                    ?? throw new CommandFailedException("Invalid parameter type for 'arguments', expected: object");
            }
            var result = handler(typed);
            if (result.NoReply) return false;
            if (result.RawResult is { } raw)
            {
                if (delimited) output.Write([QgaRequestWriter.Sentinel]);
                output.Write("{\"return\": "u8);
                raw(output);
                if (id is { } idValue)
                {
                    output.Write(", \"id\": "u8);
                    QgaOrchestrator.Protocol.Json.QemuJson.Write(output, idValue, qdictOrder: true);
                }
                output.Write("}\n"u8);
                return true;
            }
            QgaReplyWriter.WriteReturn(output, result.Value!, command.ResultType, id, delimited);
            return true;
        });
    }

    /// <summary>Schema commands without a handler; must be empty.</summary>
    public IReadOnlyList<string> Missing() => QgaCommands.All.Where(c => !_commands.ContainsKey(c.Name)).Select(c => c.Name).ToList();
}
