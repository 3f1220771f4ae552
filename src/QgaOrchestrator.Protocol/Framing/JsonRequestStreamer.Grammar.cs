using System.Globalization;
using System.Text.Unicode;

namespace QgaOrchestrator.Protocol.Framing;

public sealed partial class JsonRequestStreamer
{
    /// <summary>
    /// qemu's recursive-descent JSON parser over the streamer's tokens, for its error texts:
    /// the first problem found, worded as qemu-ga words it ("expecting value", "missing : in object
    /// pair", "invalid keyword 'abc'" ...). Null when the tokens form one valid value.
    /// </summary>
    private sealed class TokenGrammar(List<(TokenKind Kind, int Start, int Length)> tokens, byte[] text)
    {
        private int _next;
        private string? _error;

        public string? Check()
        {
            Value(depth: 0);
            return _error;
        }

        private (TokenKind Kind, int Start, int Length)? Peek() => _next < tokens.Count ? tokens[_next] : null;

        private (TokenKind Kind, int Start, int Length)? Take() => _next < tokens.Count ? tokens[_next++] : null;

        private bool Fail(string message)
        {
            _error ??= message;
            return false;
        }

        private string Text((TokenKind Kind, int Start, int Length) t) =>
            System.Text.Encoding.UTF8.GetString(text, t.Start, t.Length);

        private bool Value(int depth)
        {
            if (Take() is not { } t) return Fail("premature EOI");
            switch (t.Kind)
            {
                case TokenKind.LeftBrace: return Object(depth + 1);
                case TokenKind.LeftBracket: return Array(depth + 1);
                case TokenKind.String: return StringLiteral(t);
                case TokenKind.Number: return true;
                case TokenKind.Keyword:
                    var word = Text(t);
                    return word is "true" or "false" or "null" || Fail($"invalid keyword '{word}'");
                default: return Fail("expecting value");
            }
        }

        private bool Object(int depth)
        {
            if (Peek() is not { } first) return Fail("premature EOI");
            if (first.Kind == TokenKind.RightBrace) { _next++; return true; }
            var keys = new HashSet<string>(StringComparer.Ordinal);
            while (true)
            {
                if (Peek() is not { } key) return Fail("premature EOI");
                if (!Value(depth)) return false;
                if (key.Kind != TokenKind.String) return Fail("key is not a string in object");
                if (Take() is not { } colon) return Fail("premature EOI");
                if (colon.Kind != TokenKind.Colon) return Fail("missing : in object pair");
                if (!Value(depth)) return false;
                if (!keys.Add(Text(key))) return Fail("duplicate key");
                if (Take() is not { } sep) return Fail("premature EOI");
                if (sep.Kind == TokenKind.RightBrace) return true;
                if (sep.Kind != TokenKind.Comma) return Fail("expected separator in dict");
            }
        }

        private bool Array(int depth)
        {
            if (Peek() is not { } first) return Fail("premature EOI");
            if (first.Kind == TokenKind.RightBracket) { _next++; return true; }
            while (true)
            {
                if (!Value(depth)) return false;
                if (Take() is not { } sep) return Fail("premature EOI");
                if (sep.Kind == TokenKind.RightBracket) return true;
                if (sep.Kind != TokenKind.Comma) return Fail("expected separator in list");
            }
        }

        // Escapes and UTF-8 inside a string, as qemu's parse_string checks them.
        private bool StringLiteral((TokenKind Kind, int Start, int Length) t)
        {
            var s = text.AsSpan(t.Start + 1, t.Length - 2);
            if (!Utf8.IsValid(s)) return Fail("invalid UTF-8 sequence in string");
            for (int i = 0; i < s.Length; i++)
            {
                if (s[i] != (byte)'\\') continue;
                if (++i >= s.Length) return Fail("invalid escape sequence in string");
                switch (s[i])
                {
                    case (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                        continue;
                    case (byte)'u':
                        if (!Hex(s, i + 1, out int cp)) return Fail("invalid hex escape sequence in string");
                        var escape = System.Text.Encoding.ASCII.GetString(s.Slice(i - 1, 6));
                        i += 4;
                        if (cp is >= 0xD800 and <= 0xDBFF)
                        {
                            if (i + 6 < s.Length + 0 && s[i + 1] == (byte)'\\' && s[i + 2] == (byte)'u'
                                && Hex(s, i + 3, out int low) && low is >= 0xDC00 and <= 0xDFFF)
                            {
                                i += 6;
                                continue;
                            }
                            return Fail($"{escape} is not a valid Unicode character");
                        }
                        if (cp is >= 0xDC00 and <= 0xDFFF) return Fail($"{escape} is not a valid Unicode character");
                        if (cp == 0) return Fail("\\u0000 is not supported");
                        continue;
                    default:
                        return Fail("invalid escape sequence in string");
                }
            }
            return true;
        }

        private static bool Hex(ReadOnlySpan<byte> s, int at, out int value)
        {
            value = 0;
            return at + 4 <= s.Length
                && int.TryParse(System.Text.Encoding.ASCII.GetString(s.Slice(at, 4)), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }
    }
}
