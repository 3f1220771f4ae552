using Akka.Actor;

namespace QgaOrchestrator.Core.Snapshots;

/// <summary>
/// What to snapshot: every VM of the group is frozen (or skipped as crash-consistent) when this is sent.
/// <paramref name="WaitForGo"/>: the child is created while the group is still freezing, only to prepare its
/// requests; it sends nothing (and reports nothing) before <see cref="SnapshotGo"/>.
/// </summary>
public sealed record SnapshotRequest(
    string SagaId,
    string Name,
    IReadOnlyList<string> VmIds,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Disks,
    bool WaitForGo = false);

/// <summary>Every target is frozen and the saga's SnapshotRequested is journaled: snapshot <paramref name="VmIds"/> now.</summary>
public sealed record SnapshotGo(string SagaId, IReadOnlyList<string> VmIds);

/// <summary>One outcome; VmId null = a single group snapshot. Error null = taken.</summary>
public sealed record SnapshotResult(string SagaId, string? VmId, string? Error);

/// <summary>
/// The hypervisor-side snapshot step of a FreezeSnapshotThaw saga. A provider gives the Props of a
/// short-lived child actor that does the work and tells <c>replyTo</c> one <see cref="SnapshotResult"/>
/// per VM (or one with VmId null for a group snapshot). The saga stops the child when it no longer cares.
/// </summary>
public interface ISnapshotProvider
{
    /// <summary>True when one result (VmId null) covers the whole group.</summary>
    bool GroupWide { get; }

    Props Props(SnapshotRequest request, IActorRef fleet, IActorRef replyTo);

    /// <summary>True when <see cref="Props"/> honours <see cref="SnapshotRequest.WaitForGo"/> (preparing pays off).</summary>
    bool Prepares => false;
}
