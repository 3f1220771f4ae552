using QgaAgent.Platform;

namespace QgaAgent.Channel;

/// <summary>
/// A connection over a raw fd (virtio-serial port, ttyS0, accepted unix or vsock client). For serial ports EOF only
/// means no host process is attached: back off 100 ms and try again, never spin.
/// </summary>
internal sealed unsafe class FdConnection(int fd, bool serial) : IAgentConnection
{
    private const int BackoffMs = 100;

    public int Read(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint n = Libc.read(fd, p, buffer.Length);
                if (n > 0) return (int)n;
                if (n == 0)
                {
                    if (!serial) return 0;
                    Libc.poll(null, 0, BackoffMs);
                    continue;
                }
                int e = Libc.Errno;
                if (e == Libc.EINTR) continue;
                if (!serial && e != Libc.EAGAIN) return 0; // a socket client that reset the connection has left
                if (e != Libc.EAGAIN) throw new IOException($"channel read failed: {Libc.StrError(e)}");
                var pfd = new Libc.PollFd { Fd = fd, Events = Libc.POLLIN };
                int r = Libc.poll(&pfd, 1, -1);
                // A port without a host reports POLLHUP at once: sleep instead of spinning.
                if (r > 0 && (pfd.Revents & Libc.POLLIN) == 0) Libc.poll(null, 0, BackoffMs);
            }
        }
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        fixed (byte* start = data)
        {
            byte* p = start;
            nint left = data.Length;
            while (left > 0)
            {
                nint n = Libc.write(fd, p, left);
                if (n > 0) { p += n; left -= n; continue; }
                int e = Libc.Errno;
                if (n < 0 && e == Libc.EINTR) continue;
                if (n < 0 && e == Libc.EAGAIN)
                {
                    var pfd = new Libc.PollFd { Fd = fd, Events = 4 /* POLLOUT */ };
                    Libc.poll(&pfd, 1, BackoffMs);
                    continue;
                }
                if (!serial) return; // the vsock client left
                throw new IOException($"channel write failed: {Libc.StrError(e)}");
            }
        }
    }

    public void Dispose() => Libc.close(fd);
}
