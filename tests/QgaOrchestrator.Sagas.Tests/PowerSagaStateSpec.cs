using QgaOrchestrator.Core.Sagas;

namespace QgaOrchestrator.Sagas.Tests;

/// <summary>Pure Decide/Apply tests of the power saga: no actors, no clock.</summary>
public sealed class PowerSagaStateSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private PowerSagaState _s = PowerSagaState.Empty;
    private readonly List<IPowerSagaEvent> _all = [];
    private int _tick;

    private IReadOnlyList<IPowerSagaEvent> Step(PowerInput input)
    {
        var events = _s.Decide(input, T0.AddMilliseconds(++_tick));
        foreach (var e in events) _s = _s.Apply(e);
        _all.AddRange(events);
        return events;
    }

    private void Begin(PowerOperation op, bool fallback = false, PowerGroupPolicy policy = PowerGroupPolicy.FailGroup, params string[] vms) =>
        Step(new PowerInput.Begin("p1", vms.Length == 0 ? ["a", "b"] : vms, op, Timeout, fallback, policy));

    /// <summary>Answers every pending check of <paramref name="vm"/> as a healthy running VM would.</summary>
    private IReadOnlyList<IPowerSagaEvent> Healthy(string vm, string status = "running", bool wakeup = true, string? agentError = null)
    {
        var events = new List<IPowerSagaEvent>();
        foreach (var check in _s.Vms[vm].ChecksPending.ToList())
        {
            events.AddRange(Step(check switch
            {
                PowerOperations.StatusCheck => new PowerInput.CheckObserved(vm, check, status, null),
                PowerOperations.MachineCheck => new PowerInput.CheckObserved(vm, check, wakeup ? "true" : "false", null),
                _ => new PowerInput.CheckObserved(vm, check, agentError is null ? "ok" : null, agentError),
            }));
        }
        return events;
    }

    private void AllHealthy(string status = "running") { foreach (var v in _s.Order) Healthy(v, status); }

    private static IEnumerable<string> Sent(IEnumerable<IPowerSagaEvent> es) => es.OfType<PowerCommandRequested>().Select(e => $"{e.VmId}:{e.Command}");

    private PowerSagaEnded Ended => Assert.Single(_all.OfType<PowerSagaEnded>());

    [Theory]
    [InlineData(PowerOperation.SuspendRam, "status,machine,agent")]
    [InlineData(PowerOperation.SuspendHybrid, "status,machine,agent")]
    [InlineData(PowerOperation.SuspendDisk, "status,agent")]
    [InlineData(PowerOperation.Powerdown, "status,agent")]
    [InlineData(PowerOperation.Resume, "status")]
    public void PowerState_must_request_the_checks_of_its_operation_from_every_vm(PowerOperation op, string checks)
    {
        Begin(op);
        Assert.Equal(PowerPhase.Checking, _s.Phase);
        Assert.IsType<PowerSagaStarted>(_all[0]);
        var requested = _all.OfType<PowerChecksRequested>().ToList();
        Assert.Equal(["a", "b"], requested.Select(r => r.VmId));
        Assert.All(requested, r => Assert.Equal(checks, string.Join(",", r.Checks)));
    }

    [Fact]
    public void PowerState_must_send_nothing_until_every_vm_is_checked_then_send_all_in_one_batch()
    {
        Begin(PowerOperation.SuspendRam);
        Assert.Empty(Sent(Healthy("a")));
        var batch = Healthy("b");
        Assert.Equal(["a:guest-suspend-ram", "b:guest-suspend-ram"], Sent(batch));
        Assert.Equal(PowerPhase.Running, _s.Phase);
        Assert.All(_s.Tracks, v => Assert.Equal(T0.AddMilliseconds(_tick) + Timeout, v.DeadlineAt));
    }

    [Fact]
    public void PowerState_must_fail_a_vm_without_wakeup_support_and_under_FailGroup_send_nothing()
    {
        Begin(PowerOperation.SuspendRam);
        Healthy("a", wakeup: false);
        Healthy("b");
        Assert.Empty(Sent(_all));
        Assert.Equal(PowerVmStep.Failed, _s.Vms["a"].Step);
        Assert.Contains("wakeup-suspend-support is false", _s.Vms["a"].Reason);
        Assert.Equal(PowerVmStep.Skipped, _s.Vms["b"].Step);
        Assert.Contains("group failed its checks", _s.Vms["b"].Reason);
        Assert.Equal(SagaOutcome.Failed, Ended.Outcome);
        Assert.StartsWith("a: QEMU could not wake", Ended.Reason);
    }

    [Fact]
    public void PowerState_must_go_ahead_with_the_others_under_ContinueOthers()
    {
        Begin(PowerOperation.SuspendHybrid, policy: PowerGroupPolicy.ContinueOthers);
        Healthy("a", wakeup: false);
        Healthy("b");
        Assert.Equal(["b:guest-suspend-hybrid"], Sent(_all));
        Step(new PowerInput.EventObserved("b", "SUSPEND"));
        Assert.Equal(SagaOutcome.Failed, Ended.Outcome);
        Assert.Equal(PowerVmStep.Succeeded, _s.Vms["b"].Step);
    }

    [Theory]
    [InlineData("paused", null, "not running (status paused)")]
    [InlineData("running", "Unreachable: no agent", "no guest agent (error: Unreachable: no agent)")]
    public void PowerState_must_block_a_paused_vm_or_one_without_agent(string status, string? agentError, string reason)
    {
        Begin(PowerOperation.SuspendDisk, vms: ["a"]);
        Healthy("a", status, agentError: agentError);
        Assert.Empty(Sent(_all));
        Assert.Equal(reason, _s.Vms["a"].Reason);
        Assert.Equal(SagaOutcome.Failed, Ended.Outcome);
    }

    [Fact]
    public void PowerState_must_block_a_vm_whose_monitor_is_unavailable()
    {
        Begin(PowerOperation.Powerdown, vms: ["a"]);
        Step(new PowerInput.CheckObserved("a", PowerOperations.StatusCheck, null, "Unreachable: no QMP socket configured"));
        Step(new PowerInput.CheckObserved("a", PowerOperations.AgentCheck, "ok", null));
        Assert.Empty(Sent(_all));
        Assert.Contains("QEMU monitor unavailable", _s.Vms["a"].Reason);
    }

    [Fact]
    public void PowerState_must_skip_a_vm_already_in_the_target_state_and_complete()
    {
        Begin(PowerOperation.SuspendRam, vms: ["a"]);
        Healthy("a", "suspended");
        Assert.Empty(Sent(_all));
        Assert.Equal(PowerVmStep.Skipped, _s.Vms["a"].Step);
        Assert.Equal(SagaOutcome.Completed, Ended.Outcome);
        Assert.Contains("already suspended", Ended.Reason);
    }

    [Fact]
    public void PowerState_must_confirm_a_suspend_only_by_its_own_event()
    {
        Begin(PowerOperation.SuspendRam);
        AllHealthy();
        Assert.Empty(Step(new PowerInput.EventObserved("a", "RESUME")));
        Assert.Empty(Step(new PowerInput.EventObserved("a", "SHUTDOWN")));
        Step(new PowerInput.EventObserved("a", "SUSPEND"));
        Assert.Equal("SUSPEND event", _s.Vms["a"].Evidence);
        Assert.False(_s.IsEnded);
        Step(new PowerInput.StatusObserved("b", "suspended", null, MonitorGone: false, Final: false));
        Assert.Equal("query-status: suspended", _s.Vms["b"].Evidence);
        Assert.Equal(SagaOutcome.Completed, Ended.Outcome);
        Assert.All(_s.Tracks, v => Assert.NotNull(v.Duration));
    }

    [Fact]
    public void PowerState_must_not_confirm_a_suspend_by_a_status_poll_that_shows_it_still_running()
    {
        Begin(PowerOperation.SuspendRam, vms: ["a"]);
        AllHealthy();
        Assert.Empty(Step(new PowerInput.StatusObserved("a", "running", null, false, Final: false)));
        Assert.Empty(Step(new PowerInput.StatusObserved("a", null, "Unreachable: refused", MonitorGone: true, Final: false)));
        Assert.Equal(PowerVmStep.Sent, _s.Vms["a"].Step);
    }

    [Fact]
    public void PowerState_must_take_a_final_look_at_the_deadline_and_fail_with_the_timeout()
    {
        Begin(PowerOperation.SuspendRam, vms: ["a"]);
        AllHealthy();
        Assert.IsType<PowerFinalCheckRequested>(Assert.Single(Step(new PowerInput.DeadlineReached("a"))));
        Assert.Empty(Step(new PowerInput.DeadlineReached("a"))); // only once
        Step(new PowerInput.StatusObserved("a", "running", null, false, Final: true));
        Assert.Equal("guest-suspend-ram: not confirmed within 30 s (query-status: running)", _s.Vms["a"].Reason);
        Assert.Equal(SagaOutcome.Failed, Ended.Outcome);
    }

    [Fact]
    public void PowerState_must_succeed_when_the_final_look_shows_the_target_state()
    {
        Begin(PowerOperation.SuspendRam, vms: ["a"]);
        AllHealthy();
        Step(new PowerInput.DeadlineReached("a"));
        Step(new PowerInput.StatusObserved("a", "suspended", null, false, Final: true));
        Assert.Equal(SagaOutcome.Completed, Ended.Outcome);
    }

    [Theory]
    [InlineData("SUSPEND_DISK")]
    [InlineData("SHUTDOWN")]
    public void PowerState_must_confirm_suspend_to_disk_by_its_events(string ev)
    {
        Begin(PowerOperation.SuspendDisk, vms: ["a"]);
        AllHealthy();
        Step(new PowerInput.EventObserved("a", ev));
        Assert.Equal(ev + " event", _s.Vms["a"].Evidence);
    }

    [Fact]
    public void PowerState_must_confirm_suspend_to_disk_by_QEMU_exiting()
    {
        Begin(PowerOperation.SuspendDisk, vms: ["a"]);
        AllHealthy();
        Step(new PowerInput.StatusObserved("a", null, "Unreachable: connection refused", MonitorGone: true, Final: false));
        Assert.StartsWith("QEMU exited", _s.Vms["a"].Evidence);
        Assert.Equal(SagaOutcome.Completed, Ended.Outcome);
    }

    [Fact]
    public void PowerState_must_fail_a_vm_whose_guest_refuses_the_command()
    {
        Begin(PowerOperation.SuspendRam, vms: ["a"]);
        AllHealthy();
        Step(new PowerInput.CommandRefused("a", "guest-suspend-ram", "GenericError: the requested suspend mode is not supported by the guest"));
        Assert.Equal("guest-suspend-ram refused: GenericError: the requested suspend mode is not supported by the guest", _s.Vms["a"].Reason);
        Assert.Equal(SagaOutcome.Failed, Ended.Outcome);
    }

    [Fact]
    public void PowerState_must_confirm_shutdown_by_SHUTDOWN_and_by_status()
    {
        Begin(PowerOperation.Powerdown);
        AllHealthy();
        Assert.Equal(["a:guest-shutdown", "b:guest-shutdown"], Sent(_all));
        Step(new PowerInput.EventObserved("a", "SHUTDOWN"));
        Step(new PowerInput.StatusObserved("b", "shutdown", null, false, false));
        Assert.Equal(SagaOutcome.Completed, Ended.Outcome);
    }

    [Fact]
    public void PowerState_must_fall_back_to_system_powerdown_when_the_grace_passes_and_then_fail_after_a_second_grace()
    {
        Begin(PowerOperation.Powerdown, fallback: true, vms: ["a"]);
        AllHealthy();
        Step(new PowerInput.DeadlineReached("a"));
        var fallback = Step(new PowerInput.StatusObserved("a", "running", null, false, Final: true));
        Assert.Equal(["a:system_powerdown"], Sent(fallback));
        Assert.Contains("not confirmed within the 30 s grace", Assert.Single(fallback.OfType<PowerCommandFailed>()).Reason);
        Assert.True(_s.Vms["a"].FallbackSent);
        Assert.Empty(Step(new PowerInput.CommandRefused("a", "guest-shutdown", "late"))); // the old command is no longer awaited
        Step(new PowerInput.DeadlineReached("a"));
        Step(new PowerInput.StatusObserved("a", "running", null, false, Final: true));
        Assert.Equal("system_powerdown: not confirmed within 30 s (query-status: running)", _s.Vms["a"].Reason);
        Assert.Equal(SagaOutcome.Failed, Ended.Outcome);
    }

    [Fact]
    public void PowerState_must_report_a_fallback_shutdown_with_its_evidence()
    {
        Begin(PowerOperation.Halt, fallback: true, vms: ["a"]);
        AllHealthy();
        Step(new PowerInput.CommandRefused("a", "guest-shutdown", "CommandNotFound: Command guest-shutdown has been disabled"));
        Assert.Equal(["a:guest-shutdown", "a:system_powerdown"], Sent(_all));
        Step(new PowerInput.EventObserved("a", "SHUTDOWN"));
        Assert.Equal("SHUTDOWN event after system_powerdown", _s.Vms["a"].Evidence);
    }

    [Fact]
    public void PowerState_must_use_ACPI_directly_for_a_vm_without_agent_only_when_fallback_is_on()
    {
        Begin(PowerOperation.Powerdown, fallback: true, vms: ["a"]);
        Healthy("a", agentError: "Unreachable: no agent");
        Assert.Equal(["a:system_powerdown"], Sent(_all));
        Assert.Contains(_s.Vms["a"].Timeline, t => t.What.Contains("no guest agent: ACPI system_powerdown instead", StringComparison.Ordinal));
    }

    [Fact]
    public void PowerState_must_confirm_reboot_by_RESET_only_and_never_fall_back()
    {
        Begin(PowerOperation.Reboot, fallback: true, vms: ["a"]);
        Assert.False(_s.FallbackAllowed);
        AllHealthy();
        Assert.Empty(Step(new PowerInput.StatusObserved("a", "running", null, false, false)));
        Step(new PowerInput.DeadlineReached("a"));
        Step(new PowerInput.StatusObserved("a", "running", null, false, Final: true));
        Assert.Equal("guest-shutdown: no RESET event within 30 s (query-status: running)", _s.Vms["a"].Reason);
        Assert.Equal(["a:guest-shutdown"], Sent(_all));
    }

    [Fact]
    public void PowerState_must_confirm_reboot_by_the_RESET_event()
    {
        Begin(PowerOperation.Reboot, vms: ["a"]);
        AllHealthy();
        Step(new PowerInput.EventObserved("a", "RESET"));
        Assert.Equal("RESET event", _s.Vms["a"].Evidence);
    }

    [Fact]
    public void PowerState_must_confirm_halt_by_the_agent_port_closing()
    {
        Begin(PowerOperation.Halt, vms: ["a"]);
        AllHealthy();
        Assert.Empty(Step(new PowerInput.EventObserved("a", "VSERPORT_CHANGE", PortOpen: true)));
        Step(new PowerInput.EventObserved("a", "VSERPORT_CHANGE", PortOpen: false));
        Assert.Equal(PowerVmStep.Succeeded, _s.Vms["a"].Step);
    }

    [Fact]
    public void PowerState_must_resume_by_wakeup_then_resync_and_succeed_when_the_agent_answers()
    {
        Begin(PowerOperation.Resume);
        AllHealthy("suspended");
        Assert.Equal(["a:system_wakeup", "b:system_wakeup"], Sent(_all));
        Assert.IsType<PowerResyncRequested>(Assert.Single(Step(new PowerInput.EventObserved("a", "WAKEUP"))));
        Step(new PowerInput.StatusObserved("b", "running", null, false, false));
        Assert.Equal(PowerVmStep.Resyncing, _s.Vms["b"].Step);
        Step(new PowerInput.AgentObserved("a", null));
        Step(new PowerInput.AgentObserved("b", "Timeout: no reply to guest-ping within its deadline"));
        Assert.Equal("woke up (WAKEUP event); the agent answered after re-sync", _s.Vms["a"].Evidence);
        Assert.Contains("did not answer after re-sync", _s.Vms["b"].Reason);
        Assert.Equal(SagaOutcome.Failed, Ended.Outcome);
    }

    [Theory]
    [InlineData("running", PowerVmStep.Skipped)]
    [InlineData("paused", PowerVmStep.Failed)]
    public void PowerState_must_resume_only_suspended_vms(string status, PowerVmStep step)
    {
        Begin(PowerOperation.Resume, vms: ["a"]);
        AllHealthy(status);
        Assert.Empty(Sent(_all));
        Assert.Equal(step, _s.Vms["a"].Step);
    }

    [Fact]
    public void PowerState_must_fail_an_unknown_vm_and_block_its_group()
    {
        Begin(PowerOperation.SuspendRam);
        Step(new PowerInput.Gone("a", "not in this fleet"));
        Healthy("b");
        Assert.Empty(Sent(_all));
        Assert.Equal("unknown VM: not in this fleet", _s.Vms["a"].Reason);
        Assert.Equal(SagaOutcome.Failed, Ended.Outcome);
    }

    [Fact]
    public void PowerState_must_abort_with_unsent_vms_skipped_and_sent_ones_failed_as_unknown()
    {
        Begin(PowerOperation.SuspendRam, policy: PowerGroupPolicy.ContinueOthers, vms: ["a"]);
        AllHealthy();
        Step(new PowerInput.AbortRequested("operator"));
        Assert.Contains("state unknown", _s.Vms["a"].Reason);
        Assert.Equal(SagaOutcome.Aborted, Ended.Outcome);
        Assert.Empty(Step(new PowerInput.EventObserved("a", "SUSPEND"))); // ended: nothing more
    }

    [Fact]
    public void PowerState_must_abort_during_checks_without_sending()
    {
        Begin(PowerOperation.Powerdown);
        Step(new PowerInput.AbortRequested("operator"));
        Assert.All(_s.Tracks, v => Assert.Equal(PowerVmStep.Skipped, v.Step));
        Assert.Empty(Sent(_all));
    }

    [Fact]
    public void PowerState_must_record_a_recovery_and_never_resend_a_command()
    {
        Begin(PowerOperation.SuspendRam, vms: ["a"]);
        AllHealthy();
        var recovered = Step(PowerInput.Recovered.Instance);
        Assert.IsType<PowerSagaRecovered>(Assert.Single(recovered));
        Assert.Equal(1, _s.Recoveries);
        Assert.Equal(PowerVmStep.Sent, _s.Vms["a"].Step);
        Assert.Contains(_s.Vms["a"].Timeline, t => t.What.Contains("restarted", StringComparison.Ordinal));
        Step(new PowerInput.DeadlineReached("a"));
        Step(new PowerInput.StatusObserved("a", "running", null, false, Final: true));
        Assert.EndsWith("the orchestrator restarted meanwhile, so it may never have reached the VM", _s.Vms["a"].Reason);
    }

    [Fact]
    public void PowerState_must_send_after_recovery_when_every_check_was_journaled_but_not_the_decision()
    {
        Begin(PowerOperation.SuspendRam, vms: ["a"]);
        var events = Healthy("a");
        var withoutDecision = _all.Take(_all.Count - events.OfType<PowerCommandRequested>().Count())
            .Aggregate(PowerSagaState.Empty, (s, e) => s.Apply(e));
        Assert.Equal(PowerPhase.Checking, withoutDecision.Phase);
        var recovered = withoutDecision.Decide(PowerInput.Recovered.Instance, T0.AddSeconds(1));
        Assert.Equal(["a:guest-suspend-ram"], Sent(recovered));
    }

    [Fact]
    public void PowerState_must_replay_its_events_to_the_same_state()
    {
        Begin(PowerOperation.Powerdown, fallback: true);
        AllHealthy();
        Step(new PowerInput.EventObserved("a", "SHUTDOWN"));
        Step(new PowerInput.CommandRefused("b", "guest-shutdown", "disabled"));
        var replayed = _all.Aggregate(PowerSagaState.Empty, (s, e) => s.Apply(e));
        Assert.Equal(_s.Vms["b"].Step, replayed.Vms["b"].Step);
        Assert.Equal(_s.Vms["b"].Timeline, replayed.Vms["b"].Timeline);
        Assert.Equal(_s.Phase, replayed.Phase);
    }

    [Fact]
    public void PowerState_must_fail_an_empty_group()
    {
        Step(new PowerInput.Begin("p1", [], PowerOperation.SuspendRam, Timeout, false, PowerGroupPolicy.FailGroup));
        Assert.Equal("empty group", Ended.Reason);
    }
}
