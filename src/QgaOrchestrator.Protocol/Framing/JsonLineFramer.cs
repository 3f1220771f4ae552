using System.Text.Unicode;

namespace QgaOrchestrator.Protocol.Framing;

/// <summary>One framed line, or why there was none.</summary>
public abstract record FramedLine
{
    /// <summary>A complete line (without its newline). <paramref name="Delimited"/>: a 0xFF came right before it.</summary>
    public sealed record Line(ReadOnlyMemory<byte> Json, bool Delimited) : FramedLine;

    /// <summary>A line that was rejected; the framer has already skipped it.</summary>
    public sealed record Rejected(FramingErrorKind Kind, string Detail) : FramedLine;
}

/// <summary>
/// Splits what a QGA or QMP peer sends into lines, the host side of the wire: one JSON text per
/// <c>\n</c>; a 0xFF byte drops any partial line and marks the next one as the delimited reply.
/// Every byte is scanned once (linear in the input), at most <see cref="FramingLimits.MaxMessageBytes"/>
/// are buffered, and an over-long line is skipped up to its newline without being kept.
/// Push-based and free of I/O, so a socket loop, a pipe reader or a test can drive it.
/// </summary>
public sealed class JsonLineFramer
{
    private const byte Sentinel = 0xFF;
    private readonly FramingLimits _limits;
    private byte[] _buffer = new byte[4096];
    private int _length;
    private bool _discarding;
    private bool _delimitedNext;

    public JsonLineFramer(FramingLimits? limits = null) => _limits = limits ?? FramingLimits.Default;

    /// <summary>Bytes of a partial line held now; never more than the limit.</summary>
    public int BufferedBytes => _length;

    /// <summary>Forgets any partial line, as after a reconnect.</summary>
    public void Reset()
    {
        _length = 0;
        _discarding = false;
        _delimitedNext = false;
        if (_buffer.Length > 64 * 1024) _buffer = new byte[4096];
    }

    /// <summary>Consumes <paramref name="data"/> and adds every line it completes to <paramref name="output"/>.</summary>
    public void Feed(ReadOnlySpan<byte> data, ICollection<FramedLine> output)
    {
        while (!data.IsEmpty)
        {
            int stop = data.IndexOfAny((byte)'\n', Sentinel);
            var chunk = stop < 0 ? data : data[..stop];
            Append(chunk, output);
            if (stop < 0) return;

            if (data[stop] == Sentinel)
            {
                _length = 0;
                _discarding = false;
                _delimitedNext = true;
            }
            else
            {
                CompleteLine(output);
            }
            data = data[(stop + 1)..];
        }
    }

    private void Append(ReadOnlySpan<byte> chunk, ICollection<FramedLine> output)
    {
        if (_discarding || chunk.IsEmpty) return;
        if (_length + chunk.Length > _limits.MaxMessageBytes)
        {
            output.Add(new FramedLine.Rejected(FramingErrorKind.TooLarge,
                $"message longer than {_limits.MaxMessageBytes} bytes"));
            _discarding = true;
            _length = 0;
            _delimitedNext = false;
            return;
        }
        if (_length + chunk.Length > _buffer.Length)
        {
            int size = Math.Min(Math.Max(_buffer.Length * 2, _length + chunk.Length), Math.Max(_limits.MaxMessageBytes, 4096));
            Array.Resize(ref _buffer, size);
        }
        chunk.CopyTo(_buffer.AsSpan(_length));
        _length += chunk.Length;
    }

    private void CompleteLine(ICollection<FramedLine> output)
    {
        if (_discarding)
        {
            _discarding = false;
            return;
        }
        var line = _buffer.AsSpan(0, _length);
        bool delimited = _delimitedNext;
        _length = 0;
        if (line.Trim(" \t\r"u8).IsEmpty) return;
        _delimitedNext = false;
        if (!Utf8.IsValid(line))
        {
            output.Add(new FramedLine.Rejected(FramingErrorKind.InvalidUtf8, "message is not valid UTF-8"));
            return;
        }
        output.Add(new FramedLine.Line(line.ToArray(), delimited));
    }
}
