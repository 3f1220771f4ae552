using System.Text.Json;
using QgaAgent.Runtime;
using QgaOrchestrator.Protocol;
using QgaOrchestrator.Protocol.Framing;

namespace QgaAgent.Dispatch;

/// <summary>
/// qemu-ga's request path: streamer → envelope → allow/block/frozen filter → argument check →
/// typed arguments → handler → reply. Nothing a client sends escapes as an exception: every
/// failure becomes a qemu-shaped error reply and the next request is served.
/// </summary>
internal sealed class Dispatcher
{
    private readonly JsonRequestStreamer _streamer = new();
    private readonly List<StreamedRequest> _pending = [];
    private readonly CommandRegistry _registry;
    private readonly FreezeGate _gate;
    private readonly AgentLog _log;

    public Dispatcher(CommandRegistry registry, FreezeGate gate, AgentLog log)
    {
        _registry = registry;
        _gate = gate;
        _log = log;
    }

    /// <summary>Held while a command runs; the self-thaw timer and SIGTERM take it too.</summary>
    public object Sync { get; } = new();

    /// <summary>Drops partial input (a new client on a listening socket).</summary>
    public void ResetInput() => _streamer.Reset();

    /// <summary>Feeds bytes from the channel; replies for every completed request are appended to <paramref name="output"/>.</summary>
    public void Feed(ReadOnlySpan<byte> data, ReplyBuffer output)
    {
        _streamer.Feed(data, _pending);
        try
        {
            foreach (var request in _pending) Handle(request, output);
        }
        finally
        {
            _pending.Clear();
        }
    }

    public void Handle(StreamedRequest request, ReplyBuffer output)
    {
        switch (request)
        {
            case StreamedRequest.ParseError parseError:
                QgaReplyWriter.WriteError(output, QgaError.Generic(parseError.Desc), null);
                return;
            case StreamedRequest.Value value:
                Execute(value.Root, output);
                return;
        }
    }

    private void Execute(JsonElement root, ReplyBuffer output)
    {
        if (!QgaRequestEnvelope.TryParse(root, out var envelope, out var envelopeError, out var id))
        {
            QgaReplyWriter.WriteError(output, envelopeError!, id);
            return;
        }
        var name = envelope!.Execute;
        if (!_registry.TryGet(name, out var command))
        {
            QgaReplyWriter.WriteError(output, QgaError.CommandNotFound(name), id);
            return;
        }
        if (!_gate.IsAllowed(name))
        {
            QgaReplyWriter.WriteError(output, new QgaError(QgaErrorClass.CommandNotFound, _gate.DisabledDesc(name)), id);
            return;
        }
        if (ArgumentValidator.Validate(command.Descriptor.Arguments, envelope.Arguments) is { } argumentError)
        {
            QgaReplyWriter.WriteError(output, QgaError.Generic(argumentError), id);
            return;
        }
        _log.Debug($"executing {name}");
        int mark = output.Length;
        try
        {
            command.Invoke(envelope.Arguments, output, id, name == "guest-sync-delimited");
        }
        catch (CommandFailedException e)
        {
            Rewind(output, mark);
            QgaReplyWriter.WriteError(output, QgaError.Generic(e.Message), id);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or IOException or UnauthorizedAccessException
                                      or ArgumentException or NotSupportedException or FormatException or OverflowException
                                      or OutOfMemoryException or System.ComponentModel.Win32Exception)
        {
            Rewind(output, mark);
            _log.Warning($"{name} failed: {e.Message}");
            QgaReplyWriter.WriteError(output, QgaError.Generic(e.Message), id);
        }
    }

    private static void Rewind(ReplyBuffer output, int mark) => output.Truncate(mark);
}
