namespace QgaAgent.Channel;

/// <summary>A transport, as qemu-ga's GAChannel: listening sockets hand out one client at a time; serial ports one endless stream.</summary>
internal interface IAgentChannel : IDisposable
{
    /// <summary>True for listening sockets: a new client starts with a fresh parser.</summary>
    bool IsListening { get; }

    /// <summary>Blocks until there is a peer to talk to.</summary>
    IAgentConnection Accept();
}

internal interface IAgentConnection : IDisposable
{
    /// <summary>Blocks for input; 0 means the client went away (never returned by serial channels).</summary>
    int Read(Span<byte> buffer);

    void Write(ReadOnlySpan<byte> data);
}
