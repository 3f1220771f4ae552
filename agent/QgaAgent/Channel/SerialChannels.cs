using QgaAgent.Platform;

namespace QgaAgent.Channel;

/// <summary>-m virtio-serial: the char device stays open; EOF while no host is attached is waited out.</summary>
internal sealed class VirtioSerialChannel(string path) : IAgentChannel
{
    private FdConnection? _connection;

    public bool IsListening => false;

    public IAgentConnection Accept()
    {
        if (_connection is not null) return _connection;
        int fd = Libc.Open(path, Libc.O_RDWR | Libc.O_NONBLOCK);
        if (fd < 0) throw new IOException($"error opening channel '{path}': {Libc.StrError(Libc.Errno)}");
        return _connection = new FdConnection(fd, serial: true);
    }

    public void Dispose() => _connection?.Dispose();
}

/// <summary>-m isa-serial: /dev/ttyS0 in raw mode at 38400 baud, flushed on open, as qemu-ga.</summary>
internal sealed unsafe class IsaSerialChannel(string path) : IAgentChannel
{
    private const uint B38400 = 15; // 0000017
    private const int TCSANOW = 0, TCIOFLUSH = 2;
    private FdConnection? _connection;

    public bool IsListening => false;

    public IAgentConnection Accept()
    {
        if (_connection is not null) return _connection;
        int fd = Libc.Open(path, Libc.O_RDWR | Libc.O_NOCTTY | Libc.O_NONBLOCK);
        if (fd < 0) throw new IOException($"error opening channel '{path}': {Libc.StrError(Libc.Errno)}");
        byte* termios = stackalloc byte[128]; // struct termios is 60 bytes on glibc; room to spare
        if (Libc.tcgetattr(fd, termios) != 0)
        {
            int e = Libc.Errno;
            Libc.close(fd);
            throw new IOException($"error getting terminal attributes of '{path}': {Libc.StrError(e)}");
        }
        Libc.cfmakeraw(termios);
        Libc.cfsetspeed(termios, B38400);
        if (Libc.tcsetattr(fd, TCSANOW, termios) != 0)
        {
            int e = Libc.Errno;
            Libc.close(fd);
            throw new IOException($"error setting terminal attributes of '{path}': {Libc.StrError(e)}");
        }
        Libc.tcflush(fd, TCIOFLUSH);
        return _connection = new FdConnection(fd, serial: true);
    }

    public void Dispose() => _connection?.Dispose();
}

/// <summary>-m vsock-listen CID:PORT: an AF_VSOCK stream socket, one client at a time.</summary>
internal sealed unsafe class VsockListenChannel : IAgentChannel
{
    private const int AF_VSOCK = 40, SOCK_STREAM = 1, SOCK_CLOEXEC = 0x80000;
    private readonly int _fd;

    public VsockListenChannel(string address)
    {
        var parts = address.Split(':');
        if (parts.Length != 2 || !uint.TryParse(parts[0], out uint cid) || !uint.TryParse(parts[1], out uint port))
            throw new IOException($"invalid vsock address '{address}' (expected <cid>:<port>)");
        _fd = Libc.socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (_fd < 0) throw new IOException($"failed to create vsock socket: {Libc.StrError(Libc.Errno)}");
        // struct sockaddr_vm { sa_family_t svm_family; unsigned short reserved1; unsigned int port; unsigned int cid; unsigned char zero[4]; }
        byte* addr = stackalloc byte[16];
        new Span<byte>(addr, 16).Clear();
        *(ushort*)addr = AF_VSOCK;
        *(uint*)(addr + 4) = port;
        *(uint*)(addr + 8) = cid;
        ListenSocket.BindAndListen(_fd, addr, 16, "vsock " + address);
    }

    public bool IsListening => true;

    public IAgentConnection Accept() => ListenSocket.Accept(_fd);

    public void Dispose() => Libc.close(_fd);
}
