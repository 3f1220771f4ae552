using Akka.Actor;
using QgaOrchestrator.Core.Sagas;

namespace QgaOrchestrator.Sagas.Tests;

/// <summary>TestJournal failures: no power command ever leaves the saga without its journaled intent.</summary>
public sealed class PowerJournalFailureSpec : TestJournalSpec
{
    private static readonly PowerSaga.Settings Settings = PowerSaga.Settings.Default with
    {
        RequestTimeout = TimeSpan.FromSeconds(2),
        PollInterval = TimeSpan.FromMilliseconds(50),
    };

    private IActorRef StartSaga(FakeGuests guests, PowerOperation op, TimeSpan timeout, bool fallback = false)
    {
        var saga = Sys.ActorOf(PowerSaga.Props("j1", Sys.ActorOf(FakeFleet.Props(guests)), Settings));
        Watch(saga);
        saga.Tell(new PowerSaga.Start("j1", guests.Guests.Keys.Order(StringComparer.Ordinal).ToList(), op, timeout, fallback, ReplyTo: TestActor));
        return saga;
    }

    private IActorRef Recover(FakeGuests guests) =>
        Sys.ActorOf(PowerSaga.Props("j1", Sys.ActorOf(FakeFleet.Props(guests)), Settings, TestActor));

    /// <summary>The Finished notice; on a timeout the failure shows the saga's timeline.</summary>
    private async Task<PowerSaga.Finished> FinishedAsync(IActorRef saga)
    {
        var msg = await ReceiveOneAsync(TimeSpan.FromSeconds(5));
        if (msg is PowerSaga.Finished f) return f;
        saga.Tell(new PowerSaga.GetState("j1", TestActor));
        var state = (await ExpectMsgAsync<PowerSaga.CurrentState>()).State;
        Assert.Fail($"no Finished (got {msg}): " + string.Join(" | ", state.Tracks.Select(t => $"{t.VmId} {t.Step}: {string.Join("; ", t.Timeline.Select(e => e.What))}")));
        return null!;
    }

    private static int Count(FakeGuests guests, string what) => guests.Log.Count(l => l.Contains(what, StringComparison.Ordinal));

    [Fact]
    public async Task PowerSaga_must_not_send_a_suspend_when_its_intent_write_fails_and_send_it_once_after_recovery()
    {
        await Journal.OnWrite.FailIf(p => p.Payload is PowerCommandRequested);
        var guests = new FakeGuests("a", "b");
        var saga = StartSaga(guests, PowerOperation.SuspendRam, TimeSpan.FromSeconds(5));
        await ExpectMsgAsync<PowerSaga.Started>();
        await ExpectTerminatedAsync(saga);
        Assert.Equal(2, Count(guests, ":query-current-machine:"));
        Assert.Equal(0, Count(guests, "guest-suspend"));
        Assert.All(guests.Guests.Values, g => Assert.Equal("running", g.RunState));

        await Journal.OnWrite.Pass();
        var again = Recover(guests);
        var done = await FinishedAsync(again);
        Assert.Equal(SagaOutcome.Completed, done.Outcome);
        Assert.Equal(1, done.State.Recoveries);
        Assert.Equal(1, Count(guests, "a:guest-suspend-ram"));
        Assert.Equal(1, Count(guests, "b:guest-suspend-ram"));
        Sys.Stop(again);
    }

    [Fact]
    public async Task PowerSaga_must_send_no_check_when_PowerSagaStarted_write_fails()
    {
        await Journal.OnWrite.Fail();
        var guests = new FakeGuests("a");
        var saga = StartSaga(guests, PowerOperation.Powerdown, TimeSpan.FromSeconds(5));
        await ExpectTerminatedAsync(saga);
        Assert.DoesNotContain(guests.Log, l => !l.EndsWith(":resync", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PowerSaga_must_not_send_the_fallback_without_its_intent_and_send_it_after_recovery()
    {
        var guests = new FakeGuests("a");
        guests["a"].IgnorePower = true;
        await Journal.OnWrite.FailIf(p => p.Payload is PowerCommandRequested { Command: "system_powerdown" });
        var saga = StartSaga(guests, PowerOperation.Powerdown, TimeSpan.FromMilliseconds(200), fallback: true);
        await ExpectMsgAsync<PowerSaga.Started>();
        await ExpectTerminatedAsync(saga, TimeSpan.FromSeconds(5));
        Assert.Equal(1, Count(guests, "a:guest-shutdown"));
        Assert.Equal(0, Count(guests, "system_powerdown"));

        await Journal.OnWrite.Pass();
        var again = Recover(guests);
        var done = await ExpectMsgAsync<PowerSaga.Finished>(TimeSpan.FromSeconds(5));
        Assert.Equal(SagaOutcome.Completed, done.Outcome);
        Assert.Equal("SHUTDOWN event after system_powerdown", done.State.Vms["a"].Evidence);
        Assert.Equal(1, Count(guests, "a:guest-shutdown")); // the guest command is never re-sent
        Assert.Equal(1, Count(guests, "a:system_powerdown"));
        Sys.Stop(again);
    }
}
