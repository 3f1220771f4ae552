namespace QgaOrchestrator.Protocol;

/// <summary>
/// The shape of a value on the wire, as the schema declares it. The generated
/// <c>QgaWireShapes</c> builds one per schema type; <see cref="ArgumentValidator"/> walks them to give
/// qemu-ga's argument errors before anything is deserialized.
/// </summary>
public abstract record WireType
{
    /// <summary>The word qemu-ga puts after "expected:" when a value has the wrong JSON type.</summary>
    public abstract string Expected { get; }

    public static readonly Scalar Int64 = new(ScalarKind.Int64);
    public static readonly Scalar UInt64 = new(ScalarKind.UInt64);
    public static readonly Scalar String = new(ScalarKind.String);
    public static readonly Scalar Boolean = new(ScalarKind.Boolean);
    public static readonly Scalar Number = new(ScalarKind.Number);
    public static readonly Scalar Any = new(ScalarKind.Any);

    public enum ScalarKind { Int64, UInt64, String, Boolean, Number, Any }

    public sealed record Scalar(ScalarKind Kind) : WireType
    {
        public override string Expected => Kind switch
        {
            ScalarKind.Int64 => "integer",
            ScalarKind.UInt64 => "uint64",
            ScalarKind.String => "string",
            ScalarKind.Boolean => "boolean",
            ScalarKind.Number => "number",
            _ => "any",
        };
    }

    public sealed record Enum(string Name, IReadOnlyList<string> Values) : WireType
    {
        public override string Expected => "string";
    }

    public sealed record Struct(string Name, IReadOnlyList<WireMember> Members) : WireType
    {
        /// <summary>A command with no 'data' (or no 'returns'): the empty object.</summary>
        public static readonly Struct Empty = new("", []);
        public override string Expected => "object";
    }

    public sealed record List(WireType Element) : WireType
    {
        public override string Expected => "array";
    }

    public sealed record Alternate(string Name, IReadOnlyList<WireType> Choices) : WireType
    {
        public override string Expected => Name;
    }
}

/// <summary>One member of a struct or of a command's arguments.</summary>
public sealed record WireMember(string Name, WireType Type, bool Optional);
