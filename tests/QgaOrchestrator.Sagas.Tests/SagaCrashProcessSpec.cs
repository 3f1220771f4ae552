namespace QgaOrchestrator.Sagas.Tests;

/// <summary>
/// kill -9 of the orchestrator PROCESS (QgaOrchestrator.SagaCrashHost: the real fleet and SagaManager on a
/// SQLite file) at each step of a saga over three real qga-agents on loop-mounted ext4, then a restart on
/// the same journal: the saga ends Aborted or Completed, never stuck, and the kernel finds every guest thawed.
/// </summary>
public sealed class SagaCrashProcessSpec : IDisposable
{
    private readonly RealGuests _guests = new("qga-saga-kill9-");

    public enum KillPoint { AfterStarted, AfterFreezeSent, AfterAllFrozen, AfterSnapshotTaken, DuringThaw }

    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(30);

    private static int Count(IReadOnlyList<string> lines, string prefix, string command) =>
        lines.Count(l => l.StartsWith(prefix, StringComparison.Ordinal) && l.EndsWith(command, StringComparison.Ordinal));

    [RealAgentTheory]
    [InlineData(KillPoint.AfterStarted)]
    [InlineData(KillPoint.AfterFreezeSent)]
    [InlineData(KillPoint.AfterAllFrozen)]
    [InlineData(KillPoint.AfterSnapshotTaken)]
    [InlineData(KillPoint.DuringThaw)]
    public async Task Saga_must_end_with_every_real_guest_thawed_after_the_orchestrator_process_is_SIGKILLed(KillPoint point)
    {
        var vms = new[] { "g1", "g2", "g3" }.Select(id => _guests.Start(id)).ToList();
        List<string> common = ["--state", Path.Combine(_guests.Dir, "orchestrator"), "--saga", "kill-" + point];
        foreach (var vm in vms) common.AddRange(["--vm", $"{vm.Id}={vm.QgaSocket}"]);

        // After the snapshot the thaws are journaled then sent; a held thaw is journaled but never reaches the guest.
        List<string> first = [.. common];
        if (point is KillPoint.AfterSnapshotTaken or KillPoint.DuringThaw) first.AddRange(["--mode", "command", "--command", "/bin/true"]);
        if (point == KillPoint.AfterSnapshotTaken) foreach (var vm in vms) first.AddRange(["--hold-thaw", vm.Id]);
        if (point == KillPoint.DuringThaw) first.AddRange(["--hold-thaw", "g2"]);
        Func<IReadOnlyList<string>, bool> reached = point switch
        {
            KillPoint.AfterStarted => l => l.Contains("started"),
            KillPoint.AfterFreezeSent => l => Count(l, "send ", "guest-fsfreeze-freeze") >= 1,
            KillPoint.AfterAllFrozen => l => l.Contains("all-frozen"),
            KillPoint.AfterSnapshotTaken => l => Count(l, "held ", "guest-fsfreeze-thaw") == 3,
            _ => l => Count(l, "held ", "guest-fsfreeze-thaw") == 1 && Count(l, "send ", "guest-fsfreeze-thaw") == 2,
        };

        using (var host = CrashHostProcess.Start(first))
        {
            await host.WaitForAsync(reached, StepTimeout, point.ToString());
            host.Kill();
        }
        // Where the kill left something frozen for sure, the kernel agrees before the restart.
        if (point is KillPoint.AfterAllFrozen or KillPoint.AfterSnapshotTaken)
            Assert.All(_guests.Ids, id => Assert.True(_guests.WritesBlock(id), $"{id} not frozen at the kill"));
        if (point == KillPoint.DuringThaw) Assert.True(_guests.WritesBlock("g2"), "g2 not frozen at the kill");

        using var resumed = CrashHostProcess.Start([.. common, "--resume"]);
        Assert.Equal(0, await resumed.WaitForExitAsync(StepTimeout));
        var ended = Assert.Single(resumed.Lines, l => l.StartsWith("ended ", StringComparison.Ordinal));
        // Recovered before the thaw intents: compensation (Aborted); after them: the thaws finish it (Completed).
        var expected = point is KillPoint.AfterSnapshotTaken or KillPoint.DuringThaw ? "Completed" : "Aborted";
        Assert.StartsWith($"ended {expected}", ended, StringComparison.Ordinal);
        // Per the journal no VM may still be frozen: each got no freeze, or a confirmed thaw.
        Assert.Equal(3, resumed.Lines.Count(l => l.StartsWith("vm ", StringComparison.Ordinal) && l.EndsWith("maybe-frozen=False", StringComparison.Ordinal)));
        if (point != KillPoint.AfterStarted) Assert.Contains(resumed.Lines, l => l.Contains("freeze-sent=True", StringComparison.Ordinal));
        _guests.AssertKernelThawedAll();
    }

    public void Dispose() => _guests.Dispose();
}
