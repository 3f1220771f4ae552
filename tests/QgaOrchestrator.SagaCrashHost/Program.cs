// The orchestrator as a real process for crash tests: the real fleet (channels to real qga-agent sockets)
// and the SagaManager on a SQLite journal. It starts one FreezeSnapshotThaw saga (or, with --resume, only
// recovers the journal), prints a line at each step, and when the saga has ended prints
// `ended OUTCOME REASON` and one `vm ID freeze-sent=BOOL maybe-frozen=BOOL` line per VM, then exits 0.
using Akka.Actor;
using Akka.Configuration;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Persistence;
using QgaOrchestrator.Core.Sagas;
using QgaOrchestrator.Core.Snapshots;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.SagaCrashHost;

CrashHostOptions options;
try { options = CrashHostOptions.Parse(args); }
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 64;
}

var system = ActorSystem.Create("crash-host", SagaPersistence.Sqlite(options.StateDir)
    .WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING")));
var vmSettings = Vm.Settings.Default with { Guest = Vm.Settings.Default.Guest with { ReconnectMaxBackoff = TimeSpan.FromSeconds(1) } };
var fleet = system.ActorOf(FleetManager.Props(new FleetManager.Settings { Vms = options.Vms, Vm = vmSettings }), FleetManager.ActorName);
var reporter = system.ActorOf(StepReporter.Props(fleet, options.HoldThaw), "steps");
var sagaSettings = FreezeSnapshotThaw.Settings.Default with
{
    RequestTimeout = TimeSpan.FromSeconds(2),
    ThawRetryMin = TimeSpan.FromMilliseconds(100),
    ThawRetryMax = TimeSpan.FromSeconds(1),
    Command = options.Command is { } c ? new CommandSnapshotProvider(c, PerVm: false, Timeout: TimeSpan.FromSeconds(20)) : null,
};
// Watched before the manager exists, so no end of this saga can be published unseen.
var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
var endWatcher = system.ActorOf(SagaEndWatcher.Props(options.SagaId, ended), "end-watcher");
system.EventStream.Subscribe(endWatcher, typeof(FreezeSnapshotThaw.Progressed));
var manager = system.ActorOf(SagaManager.Props(reporter, new SagaManager.Settings { Saga = sagaSettings, RestartBackoff = TimeSpan.FromMilliseconds(200) }), "sagas");

if (!options.Resume)
{
    var printer = system.ActorOf(Props.Create<SagaPrinter>(), "printer");
    manager.Tell(new SagaManager.StartFreeze(options.SagaId, options.Mode, "crash-test", printer,
        VmIds: options.Vms.Select(v => v.Id).ToList(), Deadline: TimeSpan.FromSeconds(30)));
}

// An end journaled in this process arrives on the event stream (watched since before the manager started); one
// journaled by an earlier process is in the manager's index.
var ask = TimeSpan.FromSeconds(30); // the first answer waits for the journal to initialise and recover
var list = await manager.Ask<SagaManager.SagaList>(r => new SagaManager.ListSagas(r), ask, CancellationToken.None);
if (list.Sagas.FirstOrDefault(s => s.SagaId == options.SagaId)?.Outcome is null) await ended.Task;
var state = (await manager.Ask<FreezeSnapshotThaw.CurrentState>(r => new SagaManager.GetSaga(options.SagaId, r), ask, CancellationToken.None)).State;
Console.Out.WriteLine($"ended {state.Outcome} {state.EndReason}");
foreach (var t in state.Tracks) Console.Out.WriteLine($"vm {t.VmId} freeze-sent={t.FreezeSent} maybe-frozen={t.MaybeFrozen}");
await system.Terminate();
return 0;
