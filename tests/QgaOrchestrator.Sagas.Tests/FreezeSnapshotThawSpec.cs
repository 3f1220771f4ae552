using Akka.Actor;
using Akka.TestKit;
using QgaOrchestrator.Core.Sagas;
using QgaOrchestrator.Core.Snapshots;

namespace QgaOrchestrator.Sagas.Tests;

/// <summary>The saga actor against a fake fleet, on the in-memory journal.</summary>
public sealed class FreezeSnapshotThawSpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly FreezeSnapshotThaw.Settings Settings = FreezeSnapshotThaw.Settings.Default with
    {
        RequestTimeout = TimeSpan.FromSeconds(2),
        ThawRetryMin = TimeSpan.FromMilliseconds(20),
        ThawRetryMax = TimeSpan.FromMilliseconds(100),
        Qmp = new QmpSnapshotProvider("/var/lib/qga-snaps"),
        Command = new CommandSnapshotProvider("false", PerVm: false, TimeSpan.FromSeconds(5)),
    };

    private async Task<(IActorRef Saga, TestProbe Client)> Run(FakeGuests guests, SnapshotMode mode, TimeSpan? deadline = null,
        UnavailablePolicy policy = UnavailablePolicy.FailGroup, string id = "s1")
    {
        var fleet = Sys.ActorOf(FakeFleet.Props(guests));
        var client = CreateTestProbe();
        var saga = Sys.ActorOf(FreezeSnapshotThaw.Props(id, fleet, Settings));
        var ids = guests.Guests.Keys.Order(StringComparer.Ordinal).ToList();
        saga.Tell(new FreezeSnapshotThaw.Start(id, ids, mode, "nightly", deadline, policy,
            Disks: ids.ToDictionary(v => v, v => guests[v].Disks), ReplyTo: client));
        await client.ExpectMsgAsync<FreezeSnapshotThaw.Started>();
        return (saga, client);
    }

    [Fact]
    public async Task FreezeSnapshotThaw_must_freeze_all_snapshot_while_frozen_and_thaw_all()
    {
        var guests = new FakeGuests("a", "b", "c");
        var (_, client) = await Run(guests, SnapshotMode.Qmp);
        var done = await client.ExpectMsgAsync<FreezeSnapshotThaw.Finished>();
        Assert.Equal(SagaOutcome.Completed, done.Outcome);
        Assert.False(guests.AnyFrozen);
        Assert.All(guests.Guests.Values, g => Assert.Equal((1, 1), (g.Freezes, g.Thaws)));
        Assert.Equal(3, guests.Log.Count(l => l.EndsWith("snapshot-while-frozen=True", StringComparison.Ordinal)));
        Assert.Contains(guests.Log, l => l.Contains("/var/lib/qga-snaps/a-drive0-nightly.qcow2", StringComparison.Ordinal));
        Assert.All(done.State.Tracks, t => Assert.NotNull(t.FreezeWindow));
        Assert.NotNull(done.State.GroupWindow);
    }

    [Fact]
    public async Task FreezeSnapshotThaw_must_thaw_every_frozen_vm_when_one_freeze_fails()
    {
        var guests = new FakeGuests("a", "b", "c");
        guests["b"].FailFreeze = "fsfreeze failed: Device or resource busy";
        var (_, client) = await Run(guests, SnapshotMode.Qmp);
        var done = await client.ExpectMsgAsync<FreezeSnapshotThaw.Finished>();
        Assert.Equal(SagaOutcome.Failed, done.Outcome);
        Assert.Contains("b: freeze failed", done.Reason);
        Assert.False(guests.AnyFrozen);
        Assert.DoesNotContain(guests.Log, l => l.Contains("transaction", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FreezeSnapshotThaw_must_hold_the_freeze_until_SnapshotDone_in_external_mode()
    {
        var guests = new FakeGuests("a", "b");
        var (saga, client) = await Run(guests, SnapshotMode.External);
        var all = await client.ExpectMsgAsync<FreezeSnapshotThaw.AllFrozen>();
        Assert.Equal(["a", "b"], all.VmIds);
        Assert.True(guests["a"].Frozen && guests["b"].Frozen);
        saga.Tell(new FreezeSnapshotThaw.SnapshotDone("s1"));
        var done = await client.ExpectMsgAsync<FreezeSnapshotThaw.Finished>();
        Assert.Equal(SagaOutcome.Completed, done.Outcome);
        Assert.False(guests.AnyFrozen);
    }

    [Fact]
    public async Task FreezeSnapshotThaw_must_abort_and_thaw_when_the_deadline_passes()
    {
        var guests = new FakeGuests("a", "b");
        var (_, client) = await Run(guests, SnapshotMode.External, deadline: TimeSpan.FromMilliseconds(300));
        await client.ExpectMsgAsync<FreezeSnapshotThaw.AllFrozen>();
        var done = await client.ExpectMsgAsync<FreezeSnapshotThaw.Finished>(TimeSpan.FromSeconds(5));
        Assert.Equal(SagaOutcome.Aborted, done.Outcome);
        Assert.Equal("deadline passed", done.Reason);
        Assert.False(guests.AnyFrozen);
    }

    [Fact]
    public async Task FreezeSnapshotThaw_must_retry_thaw_with_backoff_until_confirmed()
    {
        var guests = new FakeGuests("a", "b");
        guests["a"].FailThaws = 3;
        var (_, client) = await Run(guests, SnapshotMode.Qmp);
        var done = await client.ExpectMsgAsync<FreezeSnapshotThaw.Finished>();
        Assert.Equal(SagaOutcome.Completed, done.Outcome);
        Assert.False(guests["a"].Frozen);
        Assert.Equal(4, done.State.Vms["a"].ThawAttempts);
    }

    [Fact]
    public async Task FreezeSnapshotThaw_must_report_an_already_frozen_vm_and_not_touch_it()
    {
        var guests = new FakeGuests("a", "b");
        guests["a"].Frozen = true; // someone else's freeze
        var (_, client) = await Run(guests, SnapshotMode.Qmp);
        var done = await client.ExpectMsgAsync<FreezeSnapshotThaw.Finished>();
        Assert.Equal(SagaOutcome.Failed, done.Outcome);
        Assert.Contains("a: already frozen", done.Reason);
        Assert.True(guests["a"].Frozen);
        Assert.DoesNotContain(guests.Log, l => l.Contains("freeze-freeze", StringComparison.Ordinal) || l.Contains("thaw", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FreezeSnapshotThaw_must_skip_a_vm_without_agent_as_crash_consistent_when_told_to()
    {
        var guests = new FakeGuests("a", "b");
        guests["b"].NoAgent = true;
        var (_, client) = await Run(guests, SnapshotMode.Qmp, policy: UnavailablePolicy.SkipCrashConsistent);
        var done = await client.ExpectMsgAsync<FreezeSnapshotThaw.Finished>();
        Assert.Equal(SagaOutcome.Completed, done.Outcome);
        Assert.Contains("crash-consistent only: b", done.Reason);
        Assert.True(done.State.Vms["b"].SnapshotTaken);
    }

    [Fact]
    public async Task FreezeSnapshotThaw_must_compensate_when_the_snapshot_command_fails()
    {
        var guests = new FakeGuests("a", "b");
        var (_, client) = await Run(guests, SnapshotMode.Command); // "false" exits 1
        var done = await client.ExpectMsgAsync<FreezeSnapshotThaw.Finished>();
        Assert.Equal(SagaOutcome.Failed, done.Outcome);
        Assert.Contains("exit code 1", done.Reason);
        Assert.False(guests.AnyFrozen);
    }

    [Fact]
    public async Task FreezeSnapshotThaw_must_stop_thawing_a_vm_removed_from_the_fleet()
    {
        var guests = new FakeGuests("a", "b");
        var (saga, client) = await Run(guests, SnapshotMode.External);
        await client.ExpectMsgAsync<FreezeSnapshotThaw.AllFrozen>();
        guests["b"].Removed = true;
        saga.Tell(new FreezeSnapshotThaw.Abort("s1", "operator"));
        var done = await client.ExpectMsgAsync<FreezeSnapshotThaw.Finished>();
        Assert.Equal(SagaOutcome.Aborted, done.Outcome);
        Assert.Equal(VmStep.Gone, done.State.Vms["b"].Step);
        Assert.False(guests["a"].Frozen);
    }
}
