using System.Text.Json;

namespace QgaOrchestrator.Protocol;

/// <summary>
/// Checks a command's <c>arguments</c> against its schema shape and words the first problem the
/// way qemu-ga's input visitor does: members in schema order (missing or wrong type), then
/// members the schema does not know.
/// </summary>
public static class ArgumentValidator
{
    /// <returns>null when the arguments fit the shape; otherwise the error desc.</returns>
    public static string? Validate(WireType.Struct shape, JsonElement? arguments)
    {
        if (arguments is not { } args || args.ValueKind == JsonValueKind.Undefined)
        {
            var missing = shape.Members.FirstOrDefault(m => !m.Optional);
            return missing is null ? null : $"Parameter '{missing.Name}' is missing";
        }
        return CheckStruct(shape, args, prefix: "");
    }

    private static string? CheckStruct(WireType.Struct shape, JsonElement obj, string prefix)
    {
        foreach (var member in shape.Members)
        {
            var path = prefix + member.Name;
            if (!obj.TryGetProperty(member.Name, out var value))
            {
                if (!member.Optional) return $"Parameter '{path}' is missing";
                continue;
            }
            if (Check(member.Type, value, path) is { } error) return error;
        }
        foreach (var property in obj.EnumerateObject())
        {
            if (!shape.Members.Any(m => m.Name == property.Name))
                return $"Parameter '{prefix}{property.Name}' is unexpected";
        }
        return null;
    }

    private static string? Check(WireType type, JsonElement value, string path)
    {
        switch (type)
        {
            case WireType.Scalar s:
                return Fits(s.Kind, value) ? null : TypeError(path, type);
            case WireType.Enum e:
                if (value.ValueKind != JsonValueKind.String) return TypeError(path, type);
                var text = value.GetString()!;
                return e.Values.Contains(text) ? null : $"Parameter '{path}' does not accept value '{text}'";
            case WireType.Struct st:
                return value.ValueKind == JsonValueKind.Object ? CheckStruct(st, value, path + ".") : TypeError(path, type);
            case WireType.List l:
                if (value.ValueKind != JsonValueKind.Array) return TypeError(path, type);
                int i = 0;
                foreach (var item in value.EnumerateArray())
                {
                    if (Check(l.Element, item, $"{path}[{i++}]") is { } error) return error;
                }
                return null;
            case WireType.Alternate a:
                // Like a QAPI alternate visitor: the JSON type picks the branch, whose own checks then apply.
                var branch = a.Choices.FirstOrDefault(c => AcceptsKind(c, value.ValueKind));
                return branch is null ? TypeError(path, type) : Check(branch, value, path);
            default:
                return TypeError(path, type);
        }
    }

    private static bool AcceptsKind(WireType type, JsonValueKind kind) => type switch
    {
        WireType.Scalar { Kind: WireType.ScalarKind.Int64 or WireType.ScalarKind.UInt64 or WireType.ScalarKind.Number } => kind == JsonValueKind.Number,
        WireType.Scalar { Kind: WireType.ScalarKind.String } or WireType.Enum => kind == JsonValueKind.String,
        WireType.Scalar { Kind: WireType.ScalarKind.Boolean } => kind is JsonValueKind.True or JsonValueKind.False,
        WireType.Struct => kind == JsonValueKind.Object,
        WireType.List => kind == JsonValueKind.Array,
        _ => true,
    };

    private static bool Fits(WireType.ScalarKind kind, JsonElement value) => kind switch
    {
        WireType.ScalarKind.Int64 => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
        WireType.ScalarKind.UInt64 => value.ValueKind == JsonValueKind.Number && value.TryGetUInt64(out _),
        WireType.ScalarKind.String => value.ValueKind == JsonValueKind.String,
        WireType.ScalarKind.Boolean => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        WireType.ScalarKind.Number => value.ValueKind == JsonValueKind.Number,
        _ => true,
    };

    private static string TypeError(string path, WireType type) =>
        $"Invalid parameter type for '{path}', expected: {type.Expected}";
}
