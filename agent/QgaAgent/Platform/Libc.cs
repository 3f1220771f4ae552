using System.Runtime.InteropServices;

namespace QgaAgent.Platform;

/// <summary>The libc calls the agent needs; all blittable, so NativeAOT-safe without marshalling stubs.</summary>
internal static unsafe partial class Libc
{
    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80, O_NOCTTY = 0x100,
        O_TRUNC = 0x200, O_APPEND = 0x400, O_NONBLOCK = 0x800, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000;
    public const int EPERM = 1, EINTR = 4, EIO = 5, EAGAIN = 11, EBUSY = 16, EEXIST = 17, EINVAL = 22, ENOTTY = 25, ESPIPE = 29, EOPNOTSUPP = 95;
    public const short POLLIN = 1, POLLHUP = 0x10;
    public const uint FIFREEZE = 0xC0045877, FITHAW = 0xC0045878, FITRIM = 0xC0185879;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd { public int Fd; public short Events; public short Revents; }

    [StructLayout(LayoutKind.Sequential)]
    public struct FstrimRange { public ulong Start; public ulong Len; public ulong MinLen; }

    [StructLayout(LayoutKind.Sequential)]
    public struct StatVfs
    {
        public ulong Bsize, Frsize, Blocks, Bfree, Bavail, Files, Ffree, Favail, Fsid, Flag, Namemax;
        public fixed int Spare[6];
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, int mode);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int access(string path, int mode);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, byte* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, byte* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial long lseek(int fd, long offset, int whence);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fchmod(int fd, uint mode);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint nfds, int timeout);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, void* arg);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, nint arg);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int statvfs(string path, StatVfs* buf);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int tcgetattr(int fd, byte* termios);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int tcsetattr(int fd, int actions, byte* termios);

    [LibraryImport("libc")]
    public static partial void cfmakeraw(byte* termios);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int cfsetspeed(byte* termios, uint speed);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int tcflush(int fd, int queue);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int bind(int fd, byte* addr, uint len);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int listen(int fd, int backlog);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int accept(int fd, byte* addr, uint* len);

    [LibraryImport("libc")]
    public static partial int getpid();

    [LibraryImport("libc")]
    public static partial nint strerror(int errnum);

    public static int Errno => Marshal.GetLastPInvokeError();

    /// <summary>glibc's text for an errno, as g_strerror gives it to qemu-ga's messages.</summary>
    public static string StrError(int errno) => Marshal.PtrToStringUTF8(strerror(errno)) ?? $"errno {errno}";

    public static int Open(string path, int flags, int mode = 0)
    {
        while (true)
        {
            int fd = open(path, flags | O_CLOEXEC, mode);
            if (fd >= 0 || Errno != EINTR) return fd;
        }
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or EOF; like fread. Returns bytes read and sets eof; -1 on error.</summary>
    public static long ReadFull(int fd, Span<byte> buffer, out bool eof, out int errno)
    {
        eof = false;
        errno = 0;
        long total = 0;
        fixed (byte* p = buffer)
        {
            while (total < buffer.Length)
            {
                nint n = read(fd, p + total, (nint)(buffer.Length - total));
                if (n > 0) { total += n; continue; }
                if (n == 0) { eof = true; break; }
                int e = Errno;
                if (e == EINTR) continue;
                errno = e;
                // fread reports what it got before the error; qemu-ga then sees ferror() and fails.
                return -1;
            }
        }
        return total;
    }

    /// <summary>Writes all of <paramref name="data"/>; like fwrite. Returns bytes written, or -1 with errno.</summary>
    public static long WriteFull(int fd, ReadOnlySpan<byte> data, out int errno)
    {
        errno = 0;
        long total = 0;
        fixed (byte* p = data)
        {
            while (total < data.Length)
            {
                nint n = write(fd, p + total, (nint)(data.Length - total));
                if (n >= 0) { total += n; continue; }
                int e = Errno;
                if (e == EINTR) continue;
                errno = e;
                return -1;
            }
        }
        return total;
    }
}

internal static unsafe partial class Uname
{
    [LibraryImport("libc", SetLastError = true)]
    private static partial int uname(byte* buf);

    /// <summary>sysname, nodename, release, version, machine (struct utsname: 6 fields of 65 bytes).</summary>
    public static string[] Get()
    {
        byte* buf = stackalloc byte[65 * 6];
        if (uname(buf) != 0) return ["", "", "", "", "", ""];
        var fields = new string[6];
        for (int i = 0; i < 6; i++)
            fields[i] = System.Runtime.InteropServices.Marshal.PtrToStringUTF8((nint)(buf + 65 * i)) ?? "";
        return fields;
    }
}
