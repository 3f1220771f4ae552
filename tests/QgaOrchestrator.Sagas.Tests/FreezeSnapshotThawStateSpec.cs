using QgaOrchestrator.Core.Sagas;

namespace QgaOrchestrator.Sagas.Tests;

/// <summary>Pure Decide/Apply tests: no actors, no clock.</summary>
public sealed class FreezeSnapshotThawStateSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private FreezeSnapshotThawState _s = FreezeSnapshotThawState.Empty;
    private readonly List<IFreezeSagaEvent> _all = [];
    private int _tick;

    private IReadOnlyList<IFreezeSagaEvent> Step(SagaInput input)
    {
        var events = _s.Decide(input, T0.AddMilliseconds(++_tick));
        foreach (var e in events) _s = _s.Apply(e);
        _all.AddRange(events);
        return events;
    }

    private void Begin(SnapshotMode mode = SnapshotMode.Qmp, UnavailablePolicy policy = UnavailablePolicy.FailGroup,
        string[]? noFs = null, params string[] vms) =>
        Step(new SagaInput.Begin("s1", vms.Length == 0 ? ["a", "b"] : vms, mode, "n", TimeSpan.FromSeconds(30), policy,
            new Dictionary<string, IReadOnlyList<string>>(), noFs ?? [], new Dictionary<string, IReadOnlyList<string>>()));

    private void AllThawedStatus() { foreach (var v in _s.Order) Step(new SagaInput.StatusObserved(v, "thawed", null)); }
    private void AllFrozen() { foreach (var v in _s.Order) Step(new SagaInput.FreezeObserved(v, 2, null)); }

    private static IEnumerable<string> Vms<T>(IEnumerable<IFreezeSagaEvent> es, Func<T, string> id) => es.OfType<T>().Select(id);

    [Fact]
    public void State_must_reach_the_same_state_deciding_as_applying_its_events_one_by_one_in_a_large_group()
    {
        // 20 VMs: the per-VM requests of each step go through ApplyAll's builder path (8 or more)
        var vms = Enumerable.Range(0, 20).Select(i => $"vm{i:D2}").ToList();
        var decided = FreezeSnapshotThawState.Empty;
        var folded = FreezeSnapshotThawState.Empty;
        void Feed(SagaInput input)
        {
            var (events, next) = decided.DecideAndApply(input, T0.AddMilliseconds(++_tick));
            decided = next;
            folded = events.Aggregate(folded, (st, e) => st.Apply(e));
            Assert.Equal(folded.Tracks, decided.Tracks);
            Assert.Equal((folded.Phase, folded.MaybeFrozenCount), (decided.Phase, decided.MaybeFrozenCount));
            Assert.Equal(Enum.GetValues<VmStep>().Select(folded.CountOf), Enum.GetValues<VmStep>().Select(decided.CountOf));
        }
        Feed(new SagaInput.Begin("s1", vms, SnapshotMode.Qmp, "n", TimeSpan.FromSeconds(30), UnavailablePolicy.FailGroup,
            new Dictionary<string, IReadOnlyList<string>>(), [], new Dictionary<string, IReadOnlyList<string>>()));
        foreach (var v in vms) Feed(new SagaInput.StatusObserved(v, "thawed", null));
        foreach (var v in vms.Skip(1)) Feed(new SagaInput.FreezeObserved(v, 2, null));
        Feed(new SagaInput.FreezeObserved(vms[0], null, "refused")); // compensation: a thaw request per frozen VM
        foreach (var v in vms) Feed(new SagaInput.ThawObserved(v, 2, null));
        Assert.Equal((SagaPhase.Ended, SagaOutcome.Failed), (decided.Phase, decided.Outcome!.Value));
        Assert.All(decided.Tracks, t => Assert.True(t.ThawConfirmed)); // the refused one too: a failed freeze may be partial
    }

    [Fact]
    public void State_must_request_status_of_every_vm_on_begin()
    {
        Begin();
        Assert.Equal(SagaPhase.Checking, _s.Phase);
        Assert.Equal(["a", "b"], Vms<StatusRequested>(_all, e => e.VmId));
        Assert.IsType<SagaStarted>(_all[0]);
        Assert.Equal(T0.AddMilliseconds(1).AddSeconds(30), _s.DeadlineAt);
    }

    [Fact]
    public void State_must_freeze_all_vms_in_one_batch_only_after_every_status_is_thawed()
    {
        Begin();
        Assert.Empty(Step(new SagaInput.StatusObserved("a", "thawed", null)).OfType<FreezeRequested>());
        var batch = Step(new SagaInput.StatusObserved("b", "thawed", null));
        Assert.Equal(["a", "b"], Vms<FreezeRequested>(batch, e => e.VmId));
        Assert.Equal(SagaPhase.Freezing, _s.Phase);
        Assert.All(_s.Tracks, v => Assert.True(v.MaybeFrozen));
    }

    [Fact]
    public void State_must_run_the_happy_path_to_completed_with_windows()
    {
        Begin();
        AllThawedStatus();
        Assert.Empty(Step(new SagaInput.FreezeObserved("a", 1, null)).OfType<SnapshotRequested>());
        Assert.Single(Step(new SagaInput.FreezeObserved("b", 3, null)).OfType<SnapshotRequested>());
        Assert.Equal(SagaPhase.Snapshotting, _s.Phase);
        Assert.Empty(Step(new SagaInput.SnapshotObserved("a", null)).OfType<ThawRequested>());
        var thaws = Step(new SagaInput.SnapshotObserved("b", null));
        Assert.Equal(["a", "b"], Vms<ThawRequested>(thaws, e => e.VmId));
        Assert.Equal(SagaPhase.Thawing, _s.Phase);
        Step(new SagaInput.ThawObserved("a", 1, null));
        Assert.False(_s.IsEnded);
        var end = Step(new SagaInput.ThawObserved("b", 3, null));
        Assert.Equal(SagaOutcome.Completed, Assert.Single(end.OfType<SagaEnded>()).Outcome);
        Assert.All(_s.Tracks, v => { Assert.True(v.SnapshotTaken); Assert.True(v.ThawConfirmed); Assert.NotNull(v.FreezeWindow); });
        Assert.NotNull(_s.GroupWindow);
        Assert.True(_s.GroupWindow >= _s.Tracks.Max(v => v.FreezeWindow));
    }

    [Fact]
    public void State_must_take_one_group_snapshot_for_all_vms()
    {
        Begin(SnapshotMode.Command);
        AllThawedStatus();
        AllFrozen();
        var thaws = Step(new SagaInput.SnapshotObserved(null, null));
        Assert.Equal(2, thaws.OfType<ThawRequested>().Count());
        Assert.All(_s.Tracks, v => Assert.True(v.SnapshotTaken));
    }

    [Fact]
    public void State_must_compensate_every_maybe_frozen_vm_when_one_freeze_fails()
    {
        Begin(vms: ["a", "b", "c"]);
        AllThawedStatus();
        Step(new SagaInput.FreezeObserved("a", 1, null));
        var es = Step(new SagaInput.FreezeObserved("b", null, "GenericError: failed"));
        Assert.Equal(SagaOutcome.Failed, Assert.Single(es.OfType<CompensationStarted>()).Outcome);
        // a is frozen, b failed (may be partially frozen), c is in flight: all count
        Assert.Equal(["a", "b", "c"], Vms<ThawRequested>(es, e => e.VmId));
        Assert.Empty(es.OfType<SnapshotRequested>());
        Step(new SagaInput.FreezeObserved("c", 1, null)); // late freeze of c: its thaw is already in flight
        Assert.Equal(3, _all.OfType<ThawRequested>().Count());
        Step(new SagaInput.ThawObserved("a", 1, null));
        Step(new SagaInput.ThawObserved("b", 0, null));
        var end = Step(new SagaInput.ThawObserved("c", 1, null));
        var ended = Assert.Single(end.OfType<SagaEnded>());
        Assert.Equal(SagaOutcome.Failed, ended.Outcome);
        Assert.Contains("b", ended.Reason);
    }

    [Fact]
    public void State_must_fail_a_freeze_that_froze_nothing_unless_declared_without_freezable_fs()
    {
        Begin(noFs: ["b"]);
        AllThawedStatus();
        Step(new SagaInput.FreezeObserved("b", 0, null));
        Assert.Equal(VmStep.Frozen, _s.Vms["b"].Step);
        var es = Step(new SagaInput.FreezeObserved("a", 0, null));
        Assert.Single(es.OfType<VmFreezeFailed>());
        Assert.Equal(SagaPhase.Compensating, _s.Phase);
    }

    [Fact]
    public void State_must_detect_an_already_frozen_vm_and_fail_without_freezing_or_thawing_anything()
    {
        Begin();
        Step(new SagaInput.StatusObserved("a", "frozen", null));
        var es = Step(new SagaInput.StatusObserved("b", "thawed", null));
        Assert.Equal(VmStep.AlreadyFrozen, _s.Vms["a"].Step);
        Assert.Equal(SagaOutcome.Failed, Assert.Single(es.OfType<SagaEnded>()).Outcome);
        Assert.Empty(_all.OfType<FreezeRequested>());
        Assert.Empty(_all.OfType<ThawRequested>()); // someone else's freeze is not ours to thaw
        Assert.Contains("already frozen", _s.EndReason);
    }

    [Fact]
    public void State_must_fail_the_group_on_an_unavailable_vm_with_FailGroup()
    {
        Begin(policy: UnavailablePolicy.FailGroup);
        Step(new SagaInput.StatusObserved("a", null, "no agent / paused: Timeout"));
        Step(new SagaInput.StatusObserved("b", "thawed", null));
        Assert.Equal(SagaOutcome.Failed, _s.Outcome);
        Assert.Empty(_all.OfType<FreezeRequested>());
    }

    [Fact]
    public void State_must_snapshot_an_unavailable_vm_crash_consistent_with_Skip_and_report_it()
    {
        Begin(policy: UnavailablePolicy.SkipCrashConsistent);
        Step(new SagaInput.StatusObserved("a", null, "no agent"));
        var es = Step(new SagaInput.StatusObserved("b", "thawed", null));
        Assert.Equal(["b"], Vms<FreezeRequested>(es, e => e.VmId));
        Assert.Single(Step(new SagaInput.FreezeObserved("b", 1, null)).OfType<SnapshotRequested>());
        Assert.Equal(["a", "b"], _s.SnapshotTargets);
        Step(new SagaInput.SnapshotObserved("a", null));
        var thaw = Step(new SagaInput.SnapshotObserved("b", null));
        Assert.Equal(["b"], Vms<ThawRequested>(thaw, e => e.VmId));
        Step(new SagaInput.ThawObserved("b", 1, null));
        Assert.Equal(SagaOutcome.Completed, _s.Outcome);
        Assert.Contains("crash-consistent only: a", _s.EndReason);
    }

    [Fact]
    public void State_must_go_straight_to_snapshot_when_every_vm_is_skipped()
    {
        Begin(SnapshotMode.Command, UnavailablePolicy.SkipCrashConsistent);
        Step(new SagaInput.StatusObserved("a", null, "paused"));
        var es = Step(new SagaInput.StatusObserved("b", null, "paused"));
        Assert.Single(es.OfType<SnapshotRequested>());
        var end = Step(new SagaInput.SnapshotObserved(null, null));
        Assert.Equal(SagaOutcome.Completed, Assert.Single(end.OfType<SagaEnded>()).Outcome);
    }

    [Fact]
    public void State_must_compensate_on_snapshot_failure()
    {
        Begin();
        AllThawedStatus();
        AllFrozen();
        var es = Step(new SagaInput.SnapshotObserved("a", "transaction failed"));
        Assert.Single(es.OfType<SnapshotFailed>());
        Assert.Equal(2, es.OfType<ThawRequested>().Count());
        Step(new SagaInput.ThawObserved("a", 2, null));
        Step(new SagaInput.ThawObserved("b", 2, null));
        Assert.Equal(SagaOutcome.Failed, _s.Outcome);
    }

    [Theory]
    [InlineData(0)] // while checking
    [InlineData(1)] // while freezing
    [InlineData(2)] // while snapshotting (e.g. external snapshot never done)
    public void State_must_abort_and_thaw_on_deadline(int stage)
    {
        Begin(SnapshotMode.External);
        if (stage >= 1) AllThawedStatus();
        if (stage >= 2) AllFrozen();
        var es = Step(SagaInput.DeadlineReached.Instance);
        Assert.Equal(SagaOutcome.Aborted, Assert.Single(es.OfType<CompensationStarted>()).Outcome);
        if (stage == 0)
        {
            Assert.Equal(SagaOutcome.Aborted, Assert.Single(es.OfType<SagaEnded>()).Outcome); // nothing frozen: ends at once
            return;
        }
        Assert.Equal(2, es.OfType<ThawRequested>().Count());
        foreach (var v in _s.Order) Step(new SagaInput.ThawObserved(v, 2, null));
        Assert.Equal(SagaOutcome.Aborted, _s.Outcome);
        Assert.Equal("deadline passed", _s.EndReason);
    }

    [Fact]
    public void State_must_ignore_the_deadline_once_thawing()
    {
        Begin();
        AllThawedStatus();
        AllFrozen();
        Step(new SagaInput.SnapshotObserved("a", null));
        Step(new SagaInput.SnapshotObserved("b", null));
        Assert.Empty(Step(SagaInput.DeadlineReached.Instance));
        Assert.Equal(SagaPhase.Thawing, _s.Phase);
    }

    [Fact]
    public void State_must_retry_a_failed_thaw_until_confirmed()
    {
        Begin();
        AllThawedStatus();
        Step(new SagaInput.FreezeObserved("a", null, "boom"));
        var fail = Step(new SagaInput.ThawObserved("a", null, "Timeout: no reply"));
        Assert.Equal(1, Assert.Single(fail.OfType<VmThawFailed>()).Attempt);
        Assert.Empty(Step(new SagaInput.ThawObserved("a", 1, null))); // no thaw in flight: stale
        var retry = Step(new SagaInput.ThawRetryDue("a"));
        Assert.Equal(2, Assert.Single(retry.OfType<ThawRequested>()).Attempt);
        Assert.Empty(Step(new SagaInput.ThawRetryDue("a"))); // already in flight
        Step(new SagaInput.ThawObserved("a", 0, null));
        Step(new SagaInput.FreezeObserved("b", 1, null));
        Step(new SagaInput.ThawObserved("b", 1, null));
        Assert.Equal(SagaOutcome.Failed, _s.Outcome);
    }

    [Fact]
    public void State_must_stop_thawing_a_vm_that_is_gone()
    {
        Begin();
        AllThawedStatus();
        AllFrozen();
        Step(new SagaInput.AbortRequested("operator"));
        Step(new SagaInput.ThawObserved("a", null, "removed", Gone: true));
        Assert.Equal(VmStep.Gone, _s.Vms["a"].Step);
        Step(new SagaInput.ThawObserved("b", 2, null));
        Assert.Equal(SagaOutcome.Aborted, _s.Outcome);
        Assert.Equal("operator", _s.EndReason);
    }

    [Fact]
    public void State_must_thaw_again_when_a_freeze_lands_after_its_thaw()
    {
        Begin();
        AllThawedStatus();
        Step(SagaInput.DeadlineReached.Instance);
        Step(new SagaInput.ThawObserved("a", 0, null)); // thaw confirmed before the freeze reply (timed-out freeze)
        var es = Step(new SagaInput.FreezeObserved("a", 1, null));
        Assert.Single(es.OfType<ThawRequested>());
        Assert.True(_s.Vms["a"].MaybeFrozen);
    }

    [Theory]
    [InlineData(1)] // after FreezeRequested
    [InlineData(2)] // after all frozen (snapshot running)
    public void State_must_recover_running_saga_by_thawing_maybe_frozen_and_aborting(int stage)
    {
        Begin();
        AllThawedStatus();
        if (stage >= 2) AllFrozen();
        var replayed = _all.Aggregate(FreezeSnapshotThawState.Empty, (s, e) => s.Apply(e));
        Assert.Equal(_s, replayed with { }, new StateComparer());
        _s = replayed;
        var es = Step(SagaInput.Recovered.Instance);
        Assert.Equal(SagaOutcome.Aborted, Assert.Single(es.OfType<CompensationStarted>()).Outcome);
        Assert.Equal(2, es.OfType<ThawRequested>().Count());
        Step(new SagaInput.ThawObserved("a", 1, null));
        Step(new SagaInput.ThawObserved("b", 1, null));
        Assert.Equal(SagaOutcome.Aborted, _s.Outcome);
    }

    [Fact]
    public void State_must_recover_a_saga_that_was_thawing_by_finishing_it_as_completed()
    {
        Begin();
        AllThawedStatus();
        AllFrozen();
        Step(new SagaInput.SnapshotObserved("a", null));
        Step(new SagaInput.SnapshotObserved("b", null));
        Step(new SagaInput.ThawObserved("a", 2, null));
        var es = Step(SagaInput.Recovered.Instance);
        var thaw = Assert.Single(es.OfType<ThawRequested>());
        Assert.Equal(("b", 2), (thaw.VmId, thaw.Attempt));
        Step(new SagaInput.ThawObserved("b", 2, null));
        Assert.Equal(SagaOutcome.Completed, _s.Outcome);
    }

    [Fact]
    public void State_must_end_aborted_at_once_when_recovered_before_any_freeze()
    {
        Begin();
        var es = Step(SagaInput.Recovered.Instance);
        Assert.Equal(SagaOutcome.Aborted, Assert.Single(es.OfType<SagaEnded>()).Outcome);
        Assert.Empty(es.OfType<ThawRequested>());
    }

    [Fact]
    public void State_must_ignore_everything_after_it_ended_and_stale_replies()
    {
        Begin();
        Assert.Empty(Step(new SagaInput.FreezeObserved("a", 1, null))); // no freeze sent yet
        Assert.Empty(Step(new SagaInput.SnapshotObserved("a", null)));
        Assert.Empty(Step(new SagaInput.StatusObserved("zzz", "thawed", null)));
        Step(SagaInput.DeadlineReached.Instance);
        Assert.True(_s.IsEnded);
        Assert.Empty(Step(SagaInput.Recovered.Instance));
        Assert.Empty(Step(new SagaInput.AbortRequested("x")));
    }

    [Fact]
    public void State_must_fail_an_empty_group()
    {
        Step(new SagaInput.Begin("s1", [], SnapshotMode.Qmp, "n", TimeSpan.FromSeconds(1), UnavailablePolicy.FailGroup,
            new Dictionary<string, IReadOnlyList<string>>(), [], new Dictionary<string, IReadOnlyList<string>>()));
        Assert.Equal(SagaOutcome.Failed, _s.Outcome);
    }

    /// <summary>Replay equality on the fields that drive decisions.</summary>
    private sealed class StateComparer : IEqualityComparer<FreezeSnapshotThawState>
    {
        public bool Equals(FreezeSnapshotThawState? x, FreezeSnapshotThawState? y) =>
            x!.Phase == y!.Phase && x.Order.SequenceEqual(y.Order) && x.Tracks.SequenceEqual(y.Tracks);

        public int GetHashCode(FreezeSnapshotThawState obj) => 0;
    }
}
