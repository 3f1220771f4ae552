using System.Net.Sockets;

namespace QgaAgent.Channel;

/// <summary>-m unix-listen: one client at a time; the next accept happens after it closes.</summary>
internal sealed class UnixListenChannel : IAgentChannel
{
    private readonly Socket _listener;
    private readonly string _path;

    public UnixListenChannel(string path)
    {
        _path = path;
        if (File.Exists(path)) File.Delete(path); // a stale socket from a previous run
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(1);
    }

    public bool IsListening => true;

    public IAgentConnection Accept()
    {
        while (true)
        {
            try { return new SocketConnection(_listener.Accept()); }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.Interrupted) { }
        }
    }

    public void Dispose()
    {
        _listener.Dispose();
        try { File.Delete(_path); }
        catch (IOException) { }
    }

    private sealed class SocketConnection(Socket socket) : IAgentConnection
    {
        public int Read(Span<byte> buffer)
        {
            try { return socket.Receive(buffer); }
            catch (SocketException) { return 0; }
        }

        public void Write(ReadOnlySpan<byte> data)
        {
            try
            {
                while (!data.IsEmpty) data = data[socket.Send(data)..];
            }
            catch (SocketException)
            {
                // The client left; its replies go nowhere, as with qemu-ga.
            }
        }

        public void Dispose() => socket.Dispose();
    }
}
