using System.Buffers;
using System.IO.Pipelines;

namespace QgaOrchestrator.Protocol.Framing;

/// <summary>
/// Reads framed lines from a <see cref="PipeReader"/> (a socket, a stream): the host-side reader.
/// Each byte the pipe delivers is handed to a <see cref="JsonLineFramer"/> exactly once.
/// </summary>
public sealed class PipeLineReader
{
    private readonly PipeReader _reader;
    private readonly JsonLineFramer _framer;
    private readonly Queue<FramedLine> _ready = new();
    private readonly List<FramedLine> _scratch = [];
    private bool _completed;

    public PipeLineReader(PipeReader reader, FramingLimits? limits = null)
    {
        _reader = reader;
        _framer = new JsonLineFramer(limits);
    }

    /// <summary>The next line, or null when the peer closed the stream.</summary>
    public async ValueTask<FramedLine?> ReadAsync(CancellationToken cancellationToken = default)
    {
        while (_ready.Count == 0)
        {
            if (_completed) return null;
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            foreach (var segment in buffer)
            {
                _framer.Feed(segment.Span, _scratch);
            }
            _reader.AdvanceTo(buffer.End);
            foreach (var line in _scratch) _ready.Enqueue(line);
            _scratch.Clear();
            if (result.IsCompleted || result.IsCanceled) _completed = true;
        }
        return _ready.Dequeue();
    }
}
