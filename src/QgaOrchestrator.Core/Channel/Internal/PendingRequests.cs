using System.Diagnostics.CodeAnalysis;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Core.Channel.Internal;

/// <summary>INTERNAL API. One accepted request: its absolute deadline and, once sent, its wire id.</summary>
internal sealed class PendingRequest(Vm.Execute request, DateTimeOffset deadline)
{
    public Vm.Execute Request { get; } = request;

    public DateTimeOffset Deadline { get; } = deadline;

    /// <summary>When the channel accepted it (<see cref="Telemetry.QgaMetrics.Now"/>), for the latency histogram.</summary>
    public long AcceptedAt { get; } = Telemetry.QgaMetrics.Now();

    public long WireId { get; set; }

    /// <summary>guest-shutdown / guest-suspend-*: no reply on success.</summary>
    public bool NoSuccessReply => !Request.Command.SuccessResponse;
}

/// <summary>
/// INTERNAL API. The requests waiting behind the one in flight, in arrival order, each with its
/// own deadline (one that passes while queued fails without being sent).
/// </summary>
internal sealed class PendingRequests
{
    private readonly LinkedList<PendingRequest> _queue = new();

    public int Count => _queue.Count;

    public void Enqueue(PendingRequest request) => _queue.AddLast(request);

    public bool TryDequeue([NotNullWhen(true)] out PendingRequest? request)
    {
        request = _queue.First?.Value;
        if (request is null) return false;
        _queue.RemoveFirst();
        return true;
    }

    public DateTimeOffset? FirstDeadline => _queue.First?.Value.Deadline;

    /// <summary>Removes and returns every request whose deadline is at or before <paramref name="now"/>; <paramref name="earliest"/> is the next deadline left.</summary>
    public List<PendingRequest> RemoveExpired(DateTimeOffset now, out DateTimeOffset? earliest)
    {
        var expired = new List<PendingRequest>();
        earliest = null;
        for (var node = _queue.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.Deadline <= now)
            {
                _queue.Remove(node);
                expired.Add(node.Value);
            }
            else if (earliest is null || node.Value.Deadline < earliest)
            {
                earliest = node.Value.Deadline;
            }
            node = next;
        }
        return expired;
    }

    public List<PendingRequest> DrainAll()
    {
        var all = _queue.ToList();
        _queue.Clear();
        return all;
    }
}
