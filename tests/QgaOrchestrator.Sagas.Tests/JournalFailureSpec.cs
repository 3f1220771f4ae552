using Akka.Actor;
using Akka.Persistence;
using QgaOrchestrator.Core.Persistence;
using QgaOrchestrator.Core.Sagas;

namespace QgaOrchestrator.Sagas.Tests;

/// <summary>TestJournal failures: no freeze or thaw ever leaves the saga without its journaled intent.</summary>
public sealed class JournalFailureSpec : TestJournalSpec
{
    // The saga journals a JournalBatch per write; a write "is" every event it carries.
    private static bool Holds<T>(IPersistentRepresentation p) =>
        p.Payload is T || (p.Payload is JournalBatch b && b.Events.Any(e => e is T));

    private IActorRef StartSaga(FakeGuests guests, SnapshotMode mode = SnapshotMode.External)
    {
        var fleet = Sys.ActorOf(FakeFleet.Props(guests));
        var saga = Sys.ActorOf(FreezeSnapshotThaw.Props("j1", fleet, FreezeSnapshotThaw.Settings.Default));
        Watch(saga);
        saga.Tell(new FreezeSnapshotThaw.Start("j1", guests.Guests.Keys.Order(StringComparer.Ordinal).ToList(), mode, "n", ReplyTo: TestActor));
        return saga;
    }

    [Fact]
    public async Task Saga_must_not_send_any_freeze_when_the_FreezeRequested_write_fails()
    {
        await Journal.OnWrite.FailIf(Holds<FreezeRequested>);
        var guests = new FakeGuests("a", "b");
        var saga = StartSaga(guests);
        await ExpectMsgAsync<FreezeSnapshotThaw.Started>();
        await ExpectTerminatedAsync(saga);
        Assert.Equal(2, guests.Log.Count(l => l.EndsWith("guest-fsfreeze-status", StringComparison.Ordinal)));
        Assert.DoesNotContain(guests.Log, l => l.Contains("fsfreeze-freeze", StringComparison.Ordinal));
        Assert.False(guests.AnyFrozen);
    }

    [Fact]
    public async Task Saga_must_not_send_the_status_checks_when_SagaStarted_write_fails()
    {
        await Journal.OnWrite.Fail();
        var guests = new FakeGuests("a");
        var saga = StartSaga(guests);
        await ExpectTerminatedAsync(saga);
        Assert.Empty(guests.Log);
    }

    [Fact]
    public async Task Saga_must_thaw_on_recovery_after_a_thaw_intent_write_failed()
    {
        var guests = new FakeGuests("a", "b");
        var saga = StartSaga(guests);
        await ExpectMsgAsync<FreezeSnapshotThaw.Started>();
        await ExpectMsgAsync<FreezeSnapshotThaw.AllFrozen>();
        await Journal.OnWrite.FailIf(Holds<ThawRequested>);
        saga.Tell(new FreezeSnapshotThaw.SnapshotDone("j1"));
        await ExpectTerminatedAsync(saga);
        Assert.True(guests["a"].Frozen && guests["b"].Frozen); // no thaw went out without its intent

        await Journal.OnWrite.Pass();
        var again = Sys.ActorOf(FreezeSnapshotThaw.Props("j1", Sys.ActorOf(FakeFleet.Props(guests)), FreezeSnapshotThaw.Settings.Default, TestActor));
        var done = await ExpectMsgAsync<FreezeSnapshotThaw.Finished>();
        Assert.Equal(SagaOutcome.Aborted, done.Outcome);
        Assert.False(guests.AnyFrozen);
        Sys.Stop(again);
    }
}
