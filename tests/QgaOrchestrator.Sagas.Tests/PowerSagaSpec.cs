using Akka.Actor;
using Akka.TestKit;
using QgaOrchestrator.Core.Sagas;

namespace QgaOrchestrator.Sagas.Tests;

/// <summary>The power saga actor against a fake fleet (QMP events, query-status, query-current-machine), on the in-memory journal.</summary>
public sealed class PowerSagaSpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly PowerSaga.Settings Settings = PowerSaga.Settings.Default with
    {
        RequestTimeout = TimeSpan.FromSeconds(2),
        PollInterval = TimeSpan.FromMilliseconds(50),
    };

    private async Task<(IActorRef Saga, TestProbe Client)> Run(FakeGuests guests, PowerOperation op, TimeSpan? timeout = null,
        bool fallback = false, PowerGroupPolicy policy = PowerGroupPolicy.FailGroup, string id = "p1")
    {
        var fleet = Sys.ActorOf(FakeFleet.Props(guests));
        var client = CreateTestProbe();
        var saga = Sys.ActorOf(PowerSaga.Props(id, fleet, Settings));
        saga.Tell(new PowerSaga.Start(id, guests.Guests.Keys.Order(StringComparer.Ordinal).ToList(), op, timeout ?? TimeSpan.FromSeconds(5), fallback, policy, client));
        await client.ExpectMsgAsync<PowerSaga.Started>();
        return (saga, client);
    }

    private static int Count(FakeGuests guests, string what) => guests.Log.Count(l => l.Contains(what, StringComparison.Ordinal));

    [Fact]
    public async Task PowerSaga_must_suspend_a_group_and_confirm_each_vm_by_the_SUSPEND_event()
    {
        var guests = new FakeGuests("a", "b", "c");
        var (_, client) = await Run(guests, PowerOperation.SuspendRam);
        var done = await client.ExpectMsgAsync<PowerSaga.Finished>();
        Assert.Equal(SagaOutcome.Completed, done.Outcome);
        Assert.All(guests.Guests.Values, g => Assert.Equal("suspended", g.RunState));
        Assert.All(done.State.Tracks, t => Assert.Equal("SUSPEND event", t.Evidence));
        Assert.Equal(3, Count(guests, ":query-current-machine:"));
        Assert.Equal(3, Count(guests, ":guest-suspend-ram"));
    }

    [Fact]
    public async Task PowerSaga_must_fail_a_vm_without_wakeup_support_and_send_it_no_suspend()
    {
        var guests = new FakeGuests("a", "b");
        guests["a"].WakeupSupport = false;
        var (_, client) = await Run(guests, PowerOperation.SuspendRam, policy: PowerGroupPolicy.ContinueOthers);
        var done = await client.ExpectMsgAsync<PowerSaga.Finished>();
        Assert.Equal(SagaOutcome.Failed, done.Outcome);
        Assert.Equal(PowerVmStep.Failed, done.State.Vms["a"].Step);
        Assert.Contains("wakeup-suspend-support is false", done.State.Vms["a"].Reason);
        Assert.DoesNotContain("a:guest-suspend-ram", guests.Log);
        Assert.Equal("running", guests["a"].RunState);
        Assert.Equal(PowerVmStep.Succeeded, done.State.Vms["b"].Step);
    }

    [Fact]
    public async Task PowerSaga_must_confirm_by_query_status_when_QEMU_sends_no_event()
    {
        var guests = new FakeGuests("a");
        guests["a"].SilentEvents = true;
        var (_, client) = await Run(guests, PowerOperation.SuspendHybrid);
        var done = await client.ExpectMsgAsync<PowerSaga.Finished>();
        Assert.Equal(SagaOutcome.Completed, done.Outcome);
        Assert.Equal("query-status: suspended", done.State.Vms["a"].Evidence);
    }

    [Fact]
    public async Task PowerSaga_must_fail_a_suspend_that_is_not_confirmed_within_its_timeout()
    {
        var guests = new FakeGuests("a", "b");
        guests["b"].IgnorePower = true;
        var (_, client) = await Run(guests, PowerOperation.SuspendRam, timeout: TimeSpan.FromMilliseconds(400), policy: PowerGroupPolicy.ContinueOthers);
        var done = await client.ExpectMsgAsync<PowerSaga.Finished>(TimeSpan.FromSeconds(5));
        Assert.Equal(SagaOutcome.Failed, done.Outcome);
        Assert.Equal("guest-suspend-ram: not confirmed within 0.4 s (query-status: running)", done.State.Vms["b"].Reason);
        Assert.Equal(PowerVmStep.Succeeded, done.State.Vms["a"].Step);
        Assert.Equal(1, Count(guests, "b:guest-suspend-ram")); // never re-sent
    }

    [Fact]
    public async Task PowerSaga_must_confirm_suspend_to_disk_by_the_QEMU_process_exiting()
    {
        var guests = new FakeGuests("a");
        guests["a"].SilentEvents = true;
        guests["a"].ExitOnPowerOff = true;
        var (_, client) = await Run(guests, PowerOperation.SuspendDisk);
        var done = await client.ExpectMsgAsync<PowerSaga.Finished>();
        Assert.Equal(SagaOutcome.Completed, done.Outcome);
        Assert.StartsWith("QEMU exited", done.State.Vms["a"].Evidence);
        Assert.DoesNotContain(guests.Log, l => l.Contains("query-current-machine", StringComparison.Ordinal)); // disk needs no wakeup
    }

    [Fact]
    public async Task PowerSaga_must_fail_the_group_before_sending_anything_when_a_vm_is_paused()
    {
        var guests = new FakeGuests("a", "b");
        guests["b"].RunState = "paused";
        var (_, client) = await Run(guests, PowerOperation.SuspendRam);
        var done = await client.ExpectMsgAsync<PowerSaga.Finished>();
        Assert.Equal(SagaOutcome.Failed, done.Outcome);
        Assert.Equal("b: not running (status paused)", done.Reason);
        Assert.Equal(PowerVmStep.Skipped, done.State.Vms["a"].Step);
        Assert.Equal(0, Count(guests, "guest-suspend"));
    }

    [Fact]
    public async Task PowerSaga_must_report_the_guests_refusal()
    {
        var guests = new FakeGuests("a");
        guests["a"].RefusePower = "the requested suspend mode is not supported by the guest";
        var (_, client) = await Run(guests, PowerOperation.SuspendRam);
        var done = await client.ExpectMsgAsync<PowerSaga.Finished>();
        Assert.Contains("guest-suspend-ram refused", done.State.Vms["a"].Reason);
        Assert.Contains("not supported by the guest", done.Reason);
    }

    [Fact]
    public async Task PowerSaga_must_resume_with_system_wakeup_then_resync_and_ping_the_agent()
    {
        var guests = new FakeGuests("a", "b");
        foreach (var g in guests.Guests.Values) g.RunState = "suspended";
        var (_, client) = await Run(guests, PowerOperation.Resume);
        var done = await client.ExpectMsgAsync<PowerSaga.Finished>();
        Assert.Equal(SagaOutcome.Completed, done.Outcome);
        Assert.All(guests.Guests.Values, g => Assert.Equal("running", g.RunState));
        foreach (var vm in new[] { "a", "b" })
        {
            var log = guests.Log.Where(l => l.StartsWith(vm + ":", StringComparison.Ordinal)).ToList();
            Assert.True(log.IndexOf($"{vm}:system_wakeup:") < log.IndexOf($"{vm}:resync"), string.Join(" ", log));
            Assert.True(log.IndexOf($"{vm}:resync") < log.LastIndexOf($"{vm}:guest-ping"), string.Join(" ", log));
        }
        Assert.All(done.State.Tracks, t => Assert.Contains("agent answered after re-sync", t.Evidence));
    }

    [Fact]
    public async Task PowerSaga_must_fail_a_resumed_vm_whose_agent_does_not_come_back()
    {
        var guests = new FakeGuests("a");
        guests["a"].RunState = "suspended";
        guests["a"].AgentDeadAfterWakeup = true;
        var (_, client) = await Run(guests, PowerOperation.Resume);
        var done = await client.ExpectMsgAsync<PowerSaga.Finished>();
        Assert.Equal(SagaOutcome.Failed, done.Outcome);
        Assert.Contains("woke up (WAKEUP event), but the guest agent did not answer", done.State.Vms["a"].Reason);
    }

    [Fact]
    public async Task PowerSaga_must_confirm_shutdown_by_the_SHUTDOWN_event()
    {
        var guests = new FakeGuests("a", "b");
        var (_, client) = await Run(guests, PowerOperation.Powerdown);
        var done = await client.ExpectMsgAsync<PowerSaga.Finished>();
        Assert.Equal(SagaOutcome.Completed, done.Outcome);
        Assert.All(done.State.Tracks, t => Assert.Equal("SHUTDOWN event", t.Evidence));
        Assert.Equal(0, Count(guests, "system_powerdown"));
    }

    [Fact]
    public async Task PowerSaga_must_fall_back_to_system_powerdown_after_the_grace_when_enabled()
    {
        var guests = new FakeGuests("a", "b");
        guests["a"].IgnorePower = true; // the guest ignores guest-shutdown; ACPI still works
        var (_, client) = await Run(guests, PowerOperation.Powerdown, timeout: TimeSpan.FromMilliseconds(300), fallback: true);
        var done = await client.ExpectMsgAsync<PowerSaga.Finished>(TimeSpan.FromSeconds(5));
        Assert.Equal(SagaOutcome.Completed, done.Outcome);
        Assert.Equal("SHUTDOWN event after system_powerdown", done.State.Vms["a"].Evidence);
        Assert.Equal(1, Count(guests, "a:system_powerdown"));
        Assert.Equal(0, Count(guests, "b:system_powerdown"));
        Assert.Equal("shutdown", guests["a"].RunState);
    }

    [Fact]
    public async Task PowerSaga_must_fail_after_the_grace_without_fallback()
    {
        var guests = new FakeGuests("a");
        guests["a"].IgnorePower = true;
        var (_, client) = await Run(guests, PowerOperation.Halt, timeout: TimeSpan.FromMilliseconds(300));
        var done = await client.ExpectMsgAsync<PowerSaga.Finished>(TimeSpan.FromSeconds(5));
        Assert.Equal(SagaOutcome.Failed, done.Outcome);
        Assert.Contains("not confirmed within 0.3 s", done.State.Vms["a"].Reason);
        Assert.Equal(0, Count(guests, "system_powerdown"));
    }

    [Fact]
    public async Task PowerSaga_must_confirm_reboot_by_RESET_and_halt_by_the_agent_port_closing()
    {
        var guests = new FakeGuests("a");
        var (_, client) = await Run(guests, PowerOperation.Reboot, id: "r1");
        Assert.Equal("RESET event", (await client.ExpectMsgAsync<PowerSaga.Finished>()).State.Vms["a"].Evidence);
        var (_, client2) = await Run(guests, PowerOperation.Halt, id: "h1");
        Assert.StartsWith("guest agent port closed", (await client2.ExpectMsgAsync<PowerSaga.Finished>()).State.Vms["a"].Evidence);
    }

    [Fact]
    public async Task PowerSaga_must_answer_its_state_with_a_per_vm_timeline_after_it_ended()
    {
        var guests = new FakeGuests("a");
        var (saga, client) = await Run(guests, PowerOperation.SuspendRam);
        await client.ExpectMsgAsync<PowerSaga.Finished>();
        saga.Tell(new PowerSaga.GetState("p1", client));
        var state = (await client.ExpectMsgAsync<PowerSaga.CurrentState>()).State;
        var timeline = state.Vms["a"].Timeline.Select(t => t.What).ToList();
        Assert.StartsWith("checks sent", timeline[0]);
        Assert.Contains(timeline, w => w.StartsWith("guest-suspend-ram sent", StringComparison.Ordinal));
        Assert.Equal("succeeded: SUSPEND event", timeline[^1]);
    }
}
