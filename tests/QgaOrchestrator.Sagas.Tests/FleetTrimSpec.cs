using Akka.Actor;
using QgaOrchestrator.Core.Sagas;

namespace QgaOrchestrator.Sagas.Tests;

public sealed class FleetTrimSpec : Akka.TestKit.Xunit2.TestKit
{
    [Fact]
    public void FleetTrim_state_must_never_exceed_the_concurrency_limit()
    {
        var s = FleetTrim.State.Empty;
        var maxInFlight = 0;
        void Fold(IEnumerable<FleetTrim.ITrimEvent> es) { foreach (var e in es) { s = s.Apply(e); maxInFlight = Math.Max(maxInFlight, s.InFlight.Count); } }
        Fold(s.DecideStart(new FleetTrim.Start("t", ["a", "b", "c", "d", "e"], 2, null, ActorRefs.Nobody)));
        Assert.Equal(2, s.InFlight.Count);
        while (!s.Ended) Fold(s.DecideReply(s.InFlight.First(), s.InFlight.First() == "c" ? "busy" : null));
        Assert.Equal(2, maxInFlight);
        Assert.Equal(5, s.Done.Count);
        Assert.Equal("busy", s.Done["c"]);
        Assert.Empty(s.DecideReply("a", null)); // ended: nothing more
    }

    [Fact]
    public async Task FleetTrim_must_trim_every_vm_through_the_fleet_and_report_each()
    {
        var guests = new FakeGuests("a", "b", "c");
        guests["b"].Removed = true;
        var fleet = Sys.ActorOf(FakeFleet.Props(guests));
        var trim = Sys.ActorOf(FleetTrim.Props("t1", fleet, TimeSpan.FromSeconds(2)));
        trim.Tell(new FleetTrim.Start("t1", ["a", "b", "c"], 1, 4096, TestActor));
        var done = await ExpectMsgAsync<FleetTrim.Finished>();
        Assert.Null(done.Results["a"]);
        Assert.Contains("unknown VM", done.Results["b"]);
        Assert.Equal(3, guests.Log.Count(l => l.EndsWith("guest-fstrim", StringComparison.Ordinal)));
    }

    [Fact]
    public void FleetTrim_state_must_keep_each_mounts_bytes_and_fail_a_vm_whose_guest_could_not_trim_a_mount()
    {
        var s = FleetTrim.State.Empty;
        foreach (var e in s.DecideStart(new FleetTrim.Start("t", ["a", "b"], 2, null, ActorRefs.Nobody))) s = s.Apply(e);
        foreach (var e in s.DecideReply("a", null, [new("/data", 56_843_264, 0, null)])) s = s.Apply(e);
        foreach (var e in s.DecideReply("b", null, [new("/data", 1024, 0, null), new("/boot", null, null, "Operation not supported")])) s = s.Apply(e);
        Assert.True(s.Ended);
        Assert.Null(s.Done["a"]);
        Assert.Equal(56_843_264, Assert.Single(s.Paths["a"]).Trimmed);
        Assert.Equal("guest-fstrim could not trim /boot: Operation not supported", s.Done["b"]); // qemu-ga answers success; the mount fails the VM
        Assert.Equal(2, s.Paths["b"].Count);
    }
}
