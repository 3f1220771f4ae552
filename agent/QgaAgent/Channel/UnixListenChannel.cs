using System.Text;
using QgaAgent.Platform;

namespace QgaAgent.Channel;

/// <summary>
/// -m unix-listen: one client at a time; the next accept happens after it closes. Plain libc sockets:
/// System.Net.Sockets would add its epoll thread and ~0.3 MB of code to the agent's idle footprint.
/// </summary>
internal sealed unsafe class UnixListenChannel : IAgentChannel
{
    private const int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_CLOEXEC = 0x80000, SunPathLength = 108;
    private readonly int _fd;
    private readonly string _path;

    public UnixListenChannel(string path)
    {
        _path = path;
        if (Encoding.UTF8.GetByteCount(path) >= SunPathLength) throw new IOException($"socket path too long: '{path}'");
        if (File.Exists(path)) File.Delete(path); // a stale socket from a previous run
        // Bind under a temporary name and rename once listening, so the path never exists while a connect
        // would be refused (a host that connects as soon as the socket appears must never see ECONNREFUSED).
        var temporary = $"{path}.{Environment.ProcessId}";
        var bindPath = Encoding.UTF8.GetByteCount(temporary) < SunPathLength ? temporary : path;
        var pathBytes = Encoding.UTF8.GetBytes(bindPath);
        _fd = Libc.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (_fd < 0) throw new IOException($"failed to create socket: {Libc.StrError(Libc.Errno)}");
        // struct sockaddr_un { sa_family_t sun_family; char sun_path[108]; }
        byte* addr = stackalloc byte[2 + SunPathLength];
        new Span<byte>(addr, 2 + SunPathLength).Clear();
        *(ushort*)addr = AF_UNIX;
        pathBytes.CopyTo(new Span<byte>(addr + 2, SunPathLength));
        ListenSocket.BindAndListen(_fd, addr, (uint)(2 + pathBytes.Length + 1), path);
        if (bindPath != path) File.Move(bindPath, path, overwrite: true);
    }

    public bool IsListening => true;

    public IAgentConnection Accept() => ListenSocket.Accept(_fd);

    public void Dispose()
    {
        Libc.close(_fd);
        try { File.Delete(_path); }
        catch (IOException) { }
    }
}

/// <summary>What the unix and vsock listeners share: bind+listen for one client, accept retried on EINTR.</summary>
internal static unsafe class ListenSocket
{
    public static void BindAndListen(int fd, byte* addr, uint length, string what)
    {
        if (Libc.bind(fd, addr, length) == 0 && Libc.listen(fd, 1) == 0) return;
        int e = Libc.Errno;
        Libc.close(fd);
        throw new IOException($"failed to listen on {what}: {Libc.StrError(e)}");
    }

    public static IAgentConnection Accept(int fd)
    {
        while (true)
        {
            int client = Libc.accept(fd, null, null);
            if (client >= 0) return new FdConnection(client, serial: false);
            int e = Libc.Errno;
            if (e != Libc.EINTR) throw new IOException($"accept failed: {Libc.StrError(e)}");
        }
    }
}
