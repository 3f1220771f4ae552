using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace QgaOrchestrator.Protocol.Framing;

/// <summary>What the agent-side streamer produced: a parsed JSON value, or the desc of a parse-error reply.</summary>
public abstract record StreamedRequest
{
    public sealed record Value(JsonElement Root) : StreamedRequest;

    public sealed record ParseError(string Desc) : StreamedRequest;
}

/// <summary>
/// The agent side of the wire, modelled on qemu's json-lexer and json-streamer: bytes are lexed
/// into tokens, braces and brackets are counted, and a message is complete when both counts return
/// to zero (no newline needed; several messages per read and one message over many reads both
/// work). A lexical error (a 0xFF byte, a stray control character) drops the partial message and
/// yields exactly one error; the lexer then skips to the next structural character, control byte or
/// 0xFE/0xFF. Token size, token count and nesting are bounded as in qemu.
/// </summary>
public sealed partial class JsonRequestStreamer
{
    private enum State { Start, DoubleQuoted, DoubleQuotedEscape, SingleQuoted, SingleQuotedEscape, Keyword, NumMinus, NumZero, NumInt, NumDot, NumFrac, NumExp, NumExpSign, NumExpDigits, Recovery }

    private readonly FramingLimits _limits;
    private readonly List<byte> _token = new(64);
    private readonly List<(TokenKind Kind, int Start, int Length)> _tokens = [];
    private byte[] _message = new byte[256];
    private int _messageLength;
    private int _tokenCount;
    private long _tokenBytes;
    private int _braces;
    private int _brackets;
    private State _state = State.Start;

    public JsonRequestStreamer(FramingLimits? limits = null) => _limits = limits ?? FramingLimits.Default;

    /// <summary>Bytes of the partial message held now.</summary>
    public int BufferedBytes => _messageLength + _token.Count;

    /// <summary>Drops all partial input, as for a fresh lexer.</summary>
    public void Reset()
    {
        ResetMessage();
        _token.Clear();
        _state = State.Start;
    }

    /// <summary>Lexes <paramref name="data"/>; every completed message or error is added to <paramref name="output"/>.</summary>
    public void Feed(ReadOnlySpan<byte> data, ICollection<StreamedRequest> output)
    {
        foreach (var b in data) FeedByte(b, output);
    }

    /// <summary>End of input: a pending bare word (e.g. a number) is complete.</summary>
    public void Flush(ICollection<StreamedRequest> output)
    {
        if (_state is State.Keyword or State.NumZero or State.NumInt or State.NumFrac or State.NumExpDigits)
            EndToken(_state == State.Keyword ? TokenKind.Keyword : TokenKind.Number, output);
    }

    internal enum TokenKind { LeftBrace, RightBrace, LeftBracket, RightBracket, Colon, Comma, String, Number, Keyword }

    private void FeedByte(byte b, ICollection<StreamedRequest> output)
    {
        while (true)
        {
            switch (_state)
            {
                case State.Start:
                    switch (b)
                    {
                        case (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n': return;
                        case (byte)'{': Single(b, TokenKind.LeftBrace, output); return;
                        case (byte)'}': Single(b, TokenKind.RightBrace, output); return;
                        case (byte)'[': Single(b, TokenKind.LeftBracket, output); return;
                        case (byte)']': Single(b, TokenKind.RightBracket, output); return;
                        case (byte)':': Single(b, TokenKind.Colon, output); return;
                        case (byte)',': Single(b, TokenKind.Comma, output); return;
                        case (byte)'"': _token.Add(b); _state = State.DoubleQuoted; return;
                        case (byte)'\'': _token.Add(b); _state = State.SingleQuoted; return;
                    }
                    if (b is >= (byte)'a' and <= (byte)'z') { _token.Add(b); _state = State.Keyword; return; }
                    if (b == (byte)'-') { _token.Add(b); _state = State.NumMinus; return; }
                    if (b == (byte)'0') { _token.Add(b); _state = State.NumZero; return; }
                    if (b is >= (byte)'1' and <= (byte)'9') { _token.Add(b); _state = State.NumInt; return; }
                    LexicalError(b, output);
                    return;

                case State.DoubleQuoted or State.SingleQuoted:
                    if (b < 0x20 || b >= 0xFE) { LexicalError(b, output); return; }
                    _token.Add(b);
                    if (b == (byte)'\\') _state = _state == State.DoubleQuoted ? State.DoubleQuotedEscape : State.SingleQuotedEscape;
                    else if (b == (byte)'"' && _state == State.DoubleQuoted) EndToken(TokenKind.String, output);
                    else if (b == (byte)'\'' && _state == State.SingleQuoted) EndToken(TokenKind.String, output);
                    return;

                case State.DoubleQuotedEscape or State.SingleQuotedEscape:
                    if (b < 0x20 || b >= 0xFE) { LexicalError(b, output); return; }
                    _token.Add(b);
                    _state = _state == State.DoubleQuotedEscape ? State.DoubleQuoted : State.SingleQuoted;
                    return;

                case State.Keyword:
                    if (b is >= (byte)'a' and <= (byte)'z') { _token.Add(b); return; }
                    EndToken(TokenKind.Keyword, output);
                    continue; // look at b again from Start

                // Numbers as qemu's lexer reads them: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
                case State.NumMinus:
                    if (b == (byte)'0') { _token.Add(b); _state = State.NumZero; return; }
                    if (IsDigit(b)) { _token.Add(b); _state = State.NumInt; return; }
                    LexicalError(b, output);
                    return;
                case State.NumZero or State.NumInt:
                    if (_state == State.NumInt && IsDigit(b)) { _token.Add(b); return; }
                    if (b == (byte)'.') { _token.Add(b); _state = State.NumDot; return; }
                    if (b is (byte)'e' or (byte)'E') { _token.Add(b); _state = State.NumExp; return; }
                    EndToken(TokenKind.Number, output);
                    continue;
                case State.NumDot:
                    if (IsDigit(b)) { _token.Add(b); _state = State.NumFrac; return; }
                    LexicalError(b, output);
                    return;
                case State.NumFrac:
                    if (IsDigit(b)) { _token.Add(b); return; }
                    if (b is (byte)'e' or (byte)'E') { _token.Add(b); _state = State.NumExp; return; }
                    EndToken(TokenKind.Number, output);
                    continue;
                case State.NumExp:
                    if (b is (byte)'+' or (byte)'-') { _token.Add(b); _state = State.NumExpSign; return; }
                    if (IsDigit(b)) { _token.Add(b); _state = State.NumExpDigits; return; }
                    LexicalError(b, output);
                    return;
                case State.NumExpSign:
                    if (IsDigit(b)) { _token.Add(b); _state = State.NumExpDigits; return; }
                    LexicalError(b, output);
                    return;
                case State.NumExpDigits:
                    if (IsDigit(b)) { _token.Add(b); return; }
                    EndToken(TokenKind.Number, output);
                    continue;

                case State.Recovery:
                    if (b == (byte)'\t' || (b >= 0x20 && b < 0xFE && !IsStructural(b))) return;
                    _state = State.Start;
                    continue;
            }
        }
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    private static bool IsStructural(byte b) => b is (byte)'{' or (byte)'}' or (byte)'[' or (byte)']' or (byte)':' or (byte)',';

    private void Single(byte b, TokenKind kind, ICollection<StreamedRequest> output)
    {
        _token.Add(b);
        EndToken(kind, output);
    }

    private void LexicalError(byte b, ICollection<StreamedRequest> output)
    {
        _token.Add(b);
        var bytes = _token.ToArray();
        int nul = Array.IndexOf(bytes, (byte)0);
        // qemu formats the token as a C string: it ends at a NUL byte.
        var text = Encoding.UTF8.GetString(nul < 0 ? bytes : bytes[..nul]);
        _token.Clear();
        _state = State.Recovery;
        Emit(new StreamedRequest.ParseError($"JSON parse error, stray '{text}'"), output);
    }

    private void EndToken(TokenKind kind, ICollection<StreamedRequest> output)
    {
        _state = State.Start;
        switch (kind)
        {
            case TokenKind.LeftBrace: _braces++; break;
            case TokenKind.RightBrace: _braces--; break;
            case TokenKind.LeftBracket: _brackets++; break;
            case TokenKind.RightBracket: _brackets--; break;
        }
        if (_tokenBytes + _token.Count + 1 > _limits.MaxMessageBytes)
        {
            _token.Clear();
            Emit(new StreamedRequest.ParseError("JSON token size limit exceeded"), output);
            return;
        }
        if (_tokenCount + 1 > _limits.MaxTokens)
        {
            _token.Clear();
            Emit(new StreamedRequest.ParseError("JSON token count limit exceeded"), output);
            return;
        }
        if (_braces + _brackets > _limits.MaxDepth)
        {
            _token.Clear();
            Emit(new StreamedRequest.ParseError("JSON nesting depth limit exceeded"), output);
            return;
        }
        AppendToken(kind);
        _tokenCount++;
        _tokenBytes += _token.Count;
        _token.Clear();
        if ((_braces > 0 || _brackets > 0) && _braces >= 0 && _brackets >= 0) return;
        Emit(Parse(), output);
    }

    // Tokens are kept as one JSON text separated by single spaces; single-quoted strings are
    // rewritten as double-quoted ones so the standard parser can read them.
    private void AppendToken(TokenKind kind)
    {
        int needed = _messageLength + _token.Count * 2 + 1;
        if (needed > _message.Length) Array.Resize(ref _message, Math.Max(_message.Length * 2, needed));
        if (_messageLength > 0) _message[_messageLength++] = (byte)' ';
        int start = _messageLength;
        AppendTokenText(kind);
        _tokens.Add((kind, start, _messageLength - start));
    }

    private void AppendTokenText(TokenKind kind)
    {
        if (kind == TokenKind.String && _token[0] == (byte)'\'')
        {
            _message[_messageLength++] = (byte)'"';
            for (int i = 1; i < _token.Count - 1; i++)
            {
                byte c = _token[i];
                if (c == (byte)'\\' && i + 1 < _token.Count - 1 && _token[i + 1] == (byte)'\'')
                {
                    _message[_messageLength++] = (byte)'\'';
                    i++;
                }
                else if (c == (byte)'"')
                {
                    _message[_messageLength++] = (byte)'\\';
                    _message[_messageLength++] = (byte)'"';
                }
                else
                {
                    _message[_messageLength++] = c;
                    if (c == (byte)'\\' && i + 1 < _token.Count - 1) _message[_messageLength++] = _token[++i];
                }
            }
            _message[_messageLength++] = (byte)'"';
        }
        else
        {
            foreach (var c in _token) _message[_messageLength++] = c;
        }
    }

    private StreamedRequest Parse()
    {
        var text = _message.AsSpan(0, _messageLength);
        if (new TokenGrammar(_tokens, _message).Check() is { } grammarError)
            return new StreamedRequest.ParseError("JSON parse error, " + grammarError);
        if (!Utf8.IsValid(text)) return new StreamedRequest.ParseError("JSON parse error, invalid UTF-8 sequence in string");
        try
        {
            var reader = new Utf8JsonReader(text, new JsonReaderOptions { MaxDepth = _limits.MaxDepth + 1 });
            var root = JsonElement.ParseValue(ref reader);
            if (HasDuplicateKey(root)) return new StreamedRequest.ParseError("JSON parse error, duplicate key");
            return new StreamedRequest.Value(root);
        }
        catch (JsonException e)
        {
            return new StreamedRequest.ParseError(DescribeParseError(e));
        }
        catch (InvalidOperationException e)
        {
            return new StreamedRequest.ParseError($"JSON parse error, {e.Message}");
        }
    }

    private static string DescribeParseError(JsonException e)
    {
        var m = e.Message;
        if (m.Contains("':'", StringComparison.Ordinal) || m.Contains("colon", StringComparison.OrdinalIgnoreCase))
            return "JSON parse error, missing : in object pair";
        if (m.Contains("property name", StringComparison.OrdinalIgnoreCase))
            return "JSON parse error, key is not a string in object";
        if (m.Contains("end of data", StringComparison.OrdinalIgnoreCase) || m.Contains("incomplete", StringComparison.OrdinalIgnoreCase))
            return "JSON parse error, premature EOI";
        if (m.Contains("'t'", StringComparison.Ordinal) || m.Contains("'f'", StringComparison.Ordinal) || m.Contains("'n'", StringComparison.Ordinal) || m.Contains("literal", StringComparison.OrdinalIgnoreCase))
            return "JSON parse error, invalid keyword";
        return "JSON parse error, expecting value";
    }

    private static bool HasDuplicateKey(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                HashSet<string>? seen = null;
                foreach (var p in element.EnumerateObject())
                {
                    seen ??= new HashSet<string>(StringComparer.Ordinal);
                    if (!seen.Add(p.Name) || HasDuplicateKey(p.Value)) return true;
                }
                return false;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                    if (HasDuplicateKey(item)) return true;
                return false;
            default:
                return false;
        }
    }

    private void Emit(StreamedRequest request, ICollection<StreamedRequest> output)
    {
        ResetMessage();
        output.Add(request);
    }

    private void ResetMessage()
    {
        _braces = 0;
        _brackets = 0;
        _tokenCount = 0;
        _tokenBytes = 0;
        _messageLength = 0;
        _tokens.Clear();
        if (_tokens.Capacity > 4096) _tokens.Capacity = 16;
        if (_message.Length > 64 * 1024) _message = new byte[256];
    }
}
