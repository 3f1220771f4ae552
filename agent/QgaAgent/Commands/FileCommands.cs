using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using QgaAgent.Dispatch;
using QgaAgent.Platform;
using QgaAgent.Runtime;
using QgaOrchestrator.Protocol;
using QgaOrchestrator.Protocol.Qga;

namespace QgaAgent.Commands;

/// <summary>
/// guest-file-*: fopen modes, handles from the persisted counter, qemu-ga's read↔write switch
/// (stdio buffering is emulated: raw fds, an eof flag cleared by seek and by read→write), read
/// count default 4096 and max 48 MiB. Reads are base64-encoded straight into the reply.
/// </summary>
internal sealed class FileCommands
{
    public const long ReadCountDefault = 4096;
    public const long ReadCountMax = 48L * 1024 * 1024;
    private const uint NewFileMode = 0x1B6; // 0666, regardless of umask, as qemu-ga

    private enum RwState { New, Reading, Writing }

    private sealed class Handle(int fd)
    {
        public int Fd { get; } = fd;
        public bool Eof { get; set; }
        public RwState State { get; set; }
    }

    private readonly Dictionary<long, Handle> _handles = [];
    private readonly AgentState _state;
    private byte[] _readBuffer = [];

    public FileCommands(AgentState state) => _state = state;

    public int OpenCount => _handles.Count;

    public void Register(CommandRegistry registry)
    {
        registry.Register(QgaCommands.GuestFileOpen, a => Open(a.Path, a.Mode ?? "r"));
        registry.Register(QgaCommands.GuestFileClose, a => { Close(a.Handle); return EmptyReturn.Instance; });
        registry.Register(QgaCommands.GuestFileRead, a => Read(a.Handle, a.Count));
        registry.Register(QgaCommands.GuestFileWrite, a => Write(a.Handle, a.BufB64, a.Count));
        registry.Register(QgaCommands.GuestFileSeek, a => Seek(a.Handle, a.Offset, a.Whence));
        registry.Register(QgaCommands.GuestFileFlush, a => { Flush(a.Handle); return EmptyReturn.Instance; });
    }

    /// <summary>fopen mode → open(2) flags, as qemu-ga's guest_file_open_modes table.</summary>
    public static bool TryParseMode(string mode, out int flags)
    {
        flags = mode switch
        {
            "r" or "rb" => Libc.O_RDONLY,
            "w" or "wb" => Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC,
            "a" or "ab" => Libc.O_WRONLY | Libc.O_CREAT | Libc.O_APPEND,
            "r+" or "rb+" or "r+b" => Libc.O_RDWR,
            "w+" or "wb+" or "w+b" => Libc.O_RDWR | Libc.O_CREAT | Libc.O_TRUNC,
            "a+" or "ab+" or "a+b" => Libc.O_RDWR | Libc.O_CREAT | Libc.O_APPEND,
            _ => -1,
        };
        if (flags < 0) return false;
        flags |= Libc.O_NOCTTY;
        return true;
    }

    public long Open(string path, string mode)
    {
        if (!TryParseMode(mode, out int flags)) throw new CommandFailedException($"invalid file open mode '{mode}'");
        // Exclusive create first so the mode bits can be set on a file we made, then plain open on EEXIST.
        int fd = Libc.Open(path, flags | ((flags & Libc.O_CREAT) != 0 ? Libc.O_EXCL : 0));
        bool created = fd >= 0 && (flags & Libc.O_CREAT) != 0;
        if (fd < 0 && Libc.Errno == Libc.EEXIST)
        {
            flags &= ~Libc.O_CREAT;
            fd = Libc.Open(path, flags);
        }
        if (fd < 0) throw new CommandFailedException($"failed to open file '{path}' (mode: '{mode}'): {Libc.StrError(Libc.Errno)}");
        if (created && Libc.fchmod(fd, NewFileMode) != 0)
        {
            int e = Libc.Errno;
            Libc.close(fd);
            throw new CommandFailedException($"failed to set permission 0666 on new file '{path}' (mode: '{mode}'): {Libc.StrError(e)}");
        }
        // Non-blocking, so reading a named pipe cannot hang the agent.
        if (!SetNonBlocking(fd))
        {
            int e = Libc.Errno;
            Libc.close(fd);
            throw new CommandFailedException($"Failed to set FD nonblocking: {Libc.StrError(e)}");
        }
        long handle = _state.NextHandle(out var commitError);
        if (commitError is not null)
        {
            Libc.close(fd);
            throw new CommandFailedException(commitError);
        }
        _handles[handle] = new Handle(fd);
        return handle;
    }

    private static unsafe bool SetNonBlocking(int fd)
    {
        const int F_GETFL = 3, F_SETFL = 4;
        int fl = Fcntl.fcntl(fd, F_GETFL, 0);
        return fl >= 0 && Fcntl.fcntl(fd, F_SETFL, fl | Libc.O_NONBLOCK) == 0;
    }

    private Handle Find(long handle) =>
        _handles.TryGetValue(handle, out var h) ? h
            : throw new CommandFailedException($"handle '{handle.ToString(CultureInfo.InvariantCulture)}' has not been found");

    public void Close(long handle)
    {
        var h = Find(handle);
        _handles.Remove(handle);
        if (Libc.close(h.Fd) != 0) throw new CommandFailedException($"failed to close handle: {Libc.StrError(Libc.Errno)}");
    }

    public CommandResult<GuestFileRead> Read(long handle, long? requested)
    {
        var h = Find(handle);
        long count = requested ?? ReadCountDefault;
        if (count < 0 || count > ReadCountMax)
            throw new CommandFailedException($"value '{count.ToString(CultureInfo.InvariantCulture)}' is invalid for argument count");
        h.State = RwState.Reading; // writing → reading: fflush, a no-op without stdio buffers
        if (_readBuffer.Length < count) _readBuffer = GC.AllocateUninitializedArray<byte>((int)count);
        long n = Libc.ReadFull(h.Fd, _readBuffer.AsSpan(0, (int)count), out bool eof, out int errno);
        if (n < 0) throw new CommandFailedException($"failed to read file: {Libc.StrError(errno)}");
        if (eof) h.Eof = true;
        bool eofFlag = h.Eof;
        var data = _readBuffer;
        int length = (int)n;
        if (_readBuffer.Length > 1 << 20 && length <= 1 << 20) _readBuffer = [];
        return CommandResult<GuestFileRead>.Raw(output => WriteReadResult(output, data.AsSpan(0, length), eofFlag));
    }

    /// <summary>{"count": N, "buf-b64": "...", "eof": B} in qemu-ga's member order, base64 encoded in place.</summary>
    public static void WriteReadResult(IBufferWriter<byte> output, ReadOnlySpan<byte> data, bool eof)
    {
        output.Write("{\"count\": "u8);
        var span = output.GetSpan(24);
        Utf8Formatter.TryFormat(data.Length, span, out int w);
        output.Advance(w);
        output.Write(", \"buf-b64\": \""u8);
        int encodedLength = Base64.GetMaxEncodedToUtf8Length(data.Length);
        var dest = output.GetSpan(encodedLength);
        Base64.EncodeToUtf8(data, dest, out _, out int written);
        output.Advance(written);
        output.Write(eof ? "\", \"eof\": true}"u8 : "\", \"eof\": false}"u8);
    }

    public GuestFileWrite Write(long handle, string bufB64, long? requested)
    {
        var h = Find(handle);
        if (h.State == RwState.Reading)
        {
            // reading → writing: qemu-ga does fseek(fh, 0, SEEK_CUR), which clears the eof flag.
            h.Eof = false;
        }
        h.State = RwState.Writing;
        var data = Base64Decode(bufB64);
        long count = requested ?? data.Length;
        if (count < 0 || count > data.Length)
            throw new CommandFailedException($"value '{count.ToString(CultureInfo.InvariantCulture)}' is invalid for argument count");
        long n = Libc.WriteFull(h.Fd, data.AsSpan(0, (int)count), out int errno);
        if (n < 0) throw new CommandFailedException($"failed to write to file: {Libc.StrError(errno)}");
        return new GuestFileWrite { Count = n, Eof = h.Eof };
    }

    /// <summary>
    /// As qemu-ga 7.2 behaves (g_base64_decode underneath): characters outside the alphabet are an
    /// error; only complete 4-character groups are decoded ("aGVsbG8" gives 3 bytes).
    /// </summary>
    public static byte[] Base64Decode(string text)
    {
        foreach (char c in text)
        {
            if (!(c is >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '+' or '/' or '='))
                throw new CommandFailedException("Base64 data contains invalid characters");
        }
        int usable = text.Length / 4 * 4;
        var bytes = System.Text.Encoding.ASCII.GetBytes(text, 0, usable);
        var output = new byte[Base64.GetMaxDecodedFromUtf8Length(bytes.Length)];
        var status = Base64.DecodeFromUtf8(bytes, output, out _, out int written, isFinalBlock: true);
        if (status != OperationStatus.Done) throw new CommandFailedException("Base64 data contains invalid characters");
        return written == output.Length ? output : output.AsSpan(0, written).ToArray();
    }

    public GuestFileSeek Seek(long handle, long offset, GuestFileWhence whence)
    {
        var h = Find(handle);
        int native;
        if (whence.Name is { } name) native = (int)name; // QGA_SEEK_SET/CUR/END are 0/1/2, as Linux's SEEK_*
        else
        {
            long v = whence.Value ?? 0;
            if (v is < 0 or > 2) throw new CommandFailedException($"invalid whence code {v.ToString(CultureInfo.InvariantCulture)}");
            native = (int)v;
        }
        long pos = Libc.lseek(h.Fd, offset, native);
        if (pos < 0)
        {
            int e = Libc.Errno;
            if (e == Libc.ESPIPE) h.State = RwState.New;
            throw new CommandFailedException($"failed to seek file: {Libc.StrError(e)}");
        }
        h.Eof = false;
        h.State = RwState.New;
        return new GuestFileSeek { Position = pos, Eof = false };
    }

    public void Flush(long handle)
    {
        var h = Find(handle);
        // No stdio buffer to flush; a write(2) already reached the kernel, as fflush would.
        if (h.State == RwState.Writing) h.State = RwState.New;
    }

    public void CloseAll()
    {
        foreach (var h in _handles.Values) Libc.close(h.Fd);
        _handles.Clear();
    }
}

internal static partial class Fcntl
{
    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true)]
    public static partial int fcntl(int fd, int cmd, int arg);
}
