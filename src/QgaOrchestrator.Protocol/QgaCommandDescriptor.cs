using System.Text.Json.Serialization.Metadata;

namespace QgaOrchestrator.Protocol;

/// <summary>A schema command, without its CLR types: what dispatch by name needs.</summary>
public abstract class QgaCommandDescriptor
{
    private protected QgaCommandDescriptor(string name, bool successResponse, WireType.Struct arguments, WireType returns)
    {
        Name = name;
        SuccessResponse = successResponse;
        Arguments = arguments;
        Returns = returns;
    }

    /// <summary>The wire name, e.g. <c>guest-file-read</c>.</summary>
    public string Name { get; }

    /// <summary>False for commands that send no reply on success (shutdown, suspend).</summary>
    public bool SuccessResponse { get; }

    public WireType.Struct Arguments { get; }

    public WireType Returns { get; }

    public abstract JsonTypeInfo ArgumentsTypeInfo { get; }

    public abstract JsonTypeInfo ResultTypeInfo { get; }

    public override string ToString() => Name;
}

/// <summary>
/// A schema command typed by its arguments and result; generated into <c>QgaCommands</c>. The JSON
/// metadata is built on first use: building it for every command at start-up costs the in-guest
/// agent hundreds of KB of heap it never touches again.
/// </summary>
public sealed class QgaCommand<TArgs, TResult> : QgaCommandDescriptor
{
    private readonly Func<JsonTypeInfo<TArgs>> _argumentsType;
    private readonly Func<JsonTypeInfo<TResult>> _resultType;
    private JsonTypeInfo<TArgs>? _arguments;
    private JsonTypeInfo<TResult>? _result;

    public QgaCommand(string name, bool successResponse, WireType.Struct arguments, WireType returns,
        Func<JsonTypeInfo<TArgs>> argumentsType, Func<JsonTypeInfo<TResult>> resultType)
        : base(name, successResponse, arguments, returns)
    {
        _argumentsType = argumentsType;
        _resultType = resultType;
    }

    public JsonTypeInfo<TArgs> ArgumentsType => _arguments ??= _argumentsType();

    public JsonTypeInfo<TResult> ResultType => _result ??= _resultType();

    public override JsonTypeInfo ArgumentsTypeInfo => ArgumentsType;

    public override JsonTypeInfo ResultTypeInfo => ResultType;
}

/// <summary>The arguments of a command that takes none; encoded as no <c>arguments</c> member.</summary>
public sealed record NoArguments
{
    public static readonly NoArguments Instance = new();
}

/// <summary>The result of a command without 'returns': qemu-ga answers <c>{"return": {}}</c>.</summary>
public sealed record EmptyReturn
{
    public static readonly EmptyReturn Instance = new();
}
