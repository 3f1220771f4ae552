using System.Buffers;

namespace QgaAgent.Dispatch;

/// <summary>A reusable growable output buffer: replies accumulate here and go out in one large write.</summary>
internal sealed class ReplyBuffer : IBufferWriter<byte>
{
    private const int ShrinkAbove = 96 << 20;
    private byte[] _buffer = GC.AllocateUninitializedArray<byte>(16 * 1024);
    private int _length;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _length);

    public int Length => _length;

    public void Clear() => _length = 0;

    /// <summary>Forgets a partly written reply.</summary>
    public void Truncate(int length) => _length = Math.Min(length, _length);

    /// <summary>Drops a huge buffer after bulk replies so idle memory stays small.</summary>
    public void Trim()
    {
        _length = 0;
        if (_buffer.Length > ShrinkAbove) _buffer = GC.AllocateUninitializedArray<byte>(16 * 1024);
    }

    public void Advance(int count) => _length += count;

    public Memory<byte> GetMemory(int sizeHint = 0) { Ensure(sizeHint); return _buffer.AsMemory(_length); }

    public Span<byte> GetSpan(int sizeHint = 0) { Ensure(sizeHint); return _buffer.AsSpan(_length); }

    private void Ensure(int sizeHint)
    {
        if (sizeHint < 1) sizeHint = 1;
        if (_buffer.Length - _length >= sizeHint) return;
        // A bulk hint (base64 of a file read) gets exactly what it needs plus room for the trailer: no doubling.
        long wanted = sizeHint > 1 << 20 ? (long)_length + sizeHint + 4096
            : Math.Max((long)_length + sizeHint, Math.Min((long)_buffer.Length * 2, Array.MaxLength));
        var next = GC.AllocateUninitializedArray<byte>((int)Math.Min(wanted, Array.MaxLength));
        _buffer.AsSpan(0, _length).CopyTo(next);
        _buffer = next;
    }
}
