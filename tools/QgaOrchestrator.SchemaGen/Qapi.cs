using System.Text;

namespace QgaOrchestrator.SchemaGen;

/// <summary>A reference to a type in the schema: a name, or a list of a name.</summary>
internal sealed record TypeRef(string Name, bool IsList)
{
    public static TypeRef From(object node, string where) => node switch
    {
        string s => new TypeRef(s, false),
        List<object> { Count: 1 } l when l[0] is string s => new TypeRef(s, true),
        _ => throw new QapiException($"{where}: a type must be a name or a one-element list"),
    };
}

internal sealed record Member(string WireName, TypeRef Type, bool Optional);

internal abstract record Definition(string Name);
internal sealed record CommandDef(string Name, IReadOnlyList<Member> Data, TypeRef? Returns, bool SuccessResponse) : Definition(Name);
internal sealed record StructDef(string Name, IReadOnlyList<Member> Data) : Definition(Name);
internal sealed record EnumDef(string Name, IReadOnlyList<string> Values) : Definition(Name);
internal sealed record AlternateDef(string Name, IReadOnlyList<Member> Data) : Definition(Name);

internal sealed class QapiException(string message) : Exception(message);

/// <summary>
/// Reads QAPI schema text: Python-style dictionaries with single-quoted strings and '#' comments,
/// one definition after another. Errors name the line.
/// </summary>
internal static class QapiReader
{
    public static IReadOnlyList<Definition> Read(string text)
    {
        var lexer = new Lexer(text);
        var defs = new List<Definition>();
        while (lexer.PeekKind() != '\0')
        {
            var line = lexer.Line;
            if (ParseValue(lexer) is not Dictionary<string, object> dict)
                throw new QapiException($"line {line}: a definition must be a dictionary");
            defs.Add(ToDefinition(dict, line));
        }
        return defs;
    }

    private static Definition ToDefinition(Dictionary<string, object> d, int line)
    {
        string where = $"line {line}";
        if (d.TryGetValue("command", out var c))
        {
            var name = (string)c;
            var data = d.TryGetValue("data", out var dd) ? Members(dd, $"{where} ({name})") : [];
            var returns = d.TryGetValue("returns", out var r) ? TypeRef.From(r, where) : null;
            var success = !d.TryGetValue("success-response", out var sr) || sr is true;
            return new CommandDef(name, data, returns, success);
        }
        if (d.TryGetValue("struct", out var s))
            return new StructDef((string)s, Members(d["data"], $"{where} ({s})"));
        if (d.TryGetValue("enum", out var e))
            return new EnumDef((string)e, ((List<object>)d["data"]).Cast<string>().ToList());
        if (d.TryGetValue("alternate", out var a))
            return new AlternateDef((string)a, Members(d["data"], $"{where} ({a})"));
        throw new QapiException($"{where}: unknown definition kind ({string.Join(", ", d.Keys)})");
    }

    private static List<Member> Members(object node, string where)
    {
        if (node is not Dictionary<string, object> dict)
            throw new QapiException($"{where}: 'data' must be a dictionary");
        return dict.Select(kv => kv.Key.StartsWith('*')
                ? new Member(kv.Key[1..], TypeRef.From(kv.Value, where), true)
                : new Member(kv.Key, TypeRef.From(kv.Value, where), false))
            .ToList();
    }

    private static object ParseValue(Lexer lx)
    {
        var line = lx.Line;
        switch (lx.Next())
        {
            case ('{', _):
                var dict = new Dictionary<string, object>();
                while (lx.PeekKind() != '}')
                {
                    if (lx.Next() is not ('s', var key)) throw new QapiException($"line {lx.Line}: expected a key");
                    if (lx.Next().Kind != ':') throw new QapiException($"line {lx.Line}: expected ':'");
                    if (!dict.TryAdd(key!, ParseValue(lx))) throw new QapiException($"line {lx.Line}: duplicate key '{key}'");
                    if (lx.PeekKind() == ',') lx.Next();
                }
                lx.Next();
                return dict;
            case ('[', _):
                var list = new List<object>();
                while (lx.PeekKind() != ']')
                {
                    list.Add(ParseValue(lx));
                    if (lx.PeekKind() == ',') lx.Next();
                }
                lx.Next();
                return list;
            case ('s', var str): return str!;
            case ('t', _): return true;
            case ('f', _): return false;
            case var (kind, _): throw new QapiException($"line {line}: unexpected '{kind}'");
        }
    }

    private sealed class Lexer(string text)
    {
        private int _pos;
        public int Line { get; private set; } = 1;

        public char PeekKind()
        {
            var (p, l) = (_pos, Line);
            var kind = Next().Kind;
            (_pos, Line) = (p, l);
            return kind;
        }

        public (char Kind, string? Text) Next()
        {
            while (_pos < text.Length)
            {
                char ch = text[_pos];
                if (ch == '\n') { Line++; _pos++; }
                else if (char.IsWhiteSpace(ch)) _pos++;
                else if (ch == '#') { while (_pos < text.Length && text[_pos] != '\n') _pos++; }
                else break;
            }
            if (_pos >= text.Length) return ('\0', null);
            char c = text[_pos];
            if ("{}[]:,".Contains(c)) { _pos++; return (c, null); }
            if (c == '\'')
            {
                var sb = new StringBuilder();
                _pos++;
                while (_pos < text.Length && text[_pos] != '\'') sb.Append(text[_pos++]);
                if (_pos >= text.Length) throw new QapiException($"line {Line}: unterminated string");
                _pos++;
                return ('s', sb.ToString());
            }
            if (text.AsSpan(_pos).StartsWith("true")) { _pos += 4; return ('t', null); }
            if (text.AsSpan(_pos).StartsWith("false")) { _pos += 5; return ('f', null); }
            throw new QapiException($"line {Line}: unexpected character '{c}'");
        }
    }
}
