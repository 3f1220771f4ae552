using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using QgaOrchestrator.Core.Persistence;

namespace QgaOrchestrator.Sagas.Tests;

/// <summary>
/// The saga journal and snapshot store on a real PostgreSQL 15 (<see cref="PostgreSqlTestServer"/>): the
/// schema is created by the plugin, and a saga crashed at each step and restarted on the same database
/// ends with every guest thawed (<see cref="SagaCrashScenarios"/>).
/// </summary>
public sealed class PostgreSqlSagaSpec : IDisposable
{
    private readonly string _schema = "qgaorch_t" + Guid.NewGuid().ToString("N")[..12];
    private string? _connectionString;

    private string ConnectionString => _connectionString ??= PostgreSqlTestServer.CreateSchema(_schema);

    private ActorSystem NewSystem(string name) => ActorSystem.Create(name,
        SagaPersistence.PostgreSql(ConnectionString).WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING")));

    [PostgreSqlFact]
    public async Task PostgreSqlJournal_must_create_its_tables_and_recover_events_and_snapshots()
    {
        var sys1 = NewSystem("pg1");
        var probe1 = new TestProbe(sys1, new XunitAssertions());
        var a1 = sys1.ActorOf(Props.Create(() => new Counter("counter-1", probe1.Ref)));
        await probe1.ExpectMsgAsync<RecoveryCompleted>(TimeSpan.FromSeconds(20));
        foreach (var n in new[] { 1, 2, 3 }) a1.Tell(n);
        foreach (var sum in new[] { 1, 3, 6 }) await probe1.ExpectMsgAsync(sum, TimeSpan.FromSeconds(10));
        a1.Tell("snapshot");
        await probe1.ExpectMsgAsync<SaveSnapshotSuccess>(TimeSpan.FromSeconds(10));
        a1.Tell(4);
        await probe1.ExpectMsgAsync(10, TimeSpan.FromSeconds(10));
        await sys1.Terminate();

        foreach (var table in new[] { "journal", "tags", "snapshot" })
            Assert.Equal(1, PostgreSqlTestServer.Scalar($"SELECT count(*) FROM information_schema.tables WHERE table_schema = '{_schema}' AND table_name = '{table}'"));
        Assert.Equal(4, PostgreSqlTestServer.Scalar($"SELECT count(*) FROM {_schema}.journal WHERE persistence_id = 'counter-1'"));
        Assert.Equal(1, PostgreSqlTestServer.Scalar($"SELECT count(*) FROM {_schema}.snapshot WHERE persistence_id = 'counter-1'"));

        var sys2 = NewSystem("pg2");
        try
        {
            var probe2 = new TestProbe(sys2, new XunitAssertions());
            sys2.ActorOf(Props.Create(() => new Counter("counter-1", probe2.Ref)));
            Assert.Equal(6, (await probe2.ExpectMsgAsync<SnapshotOffer>(TimeSpan.FromSeconds(20))).Snapshot);
            Assert.Equal(4, await probe2.ExpectMsgAsync<int>()); // the one event after the snapshot
            await probe2.ExpectMsgAsync<RecoveryCompleted>();
        }
        finally
        {
            await sys2.Terminate();
        }
    }

    [PostgreSqlTheory]
    [InlineData(CrashPoint.AfterFreezeRequested)]
    [InlineData(CrashPoint.AfterAllFrozen)]
    [InlineData(CrashPoint.DuringSnapshot)]
    [InlineData(CrashPoint.DuringThaw)]
    public Task Saga_must_leave_every_guest_thawed_after_an_orchestrator_crash_on_PostgreSql(CrashPoint point) =>
        SagaCrashScenarios.CrashAndRecoverAsync(NewSystem, point);

    [PostgreSqlFact]
    public Task SagaManager_must_list_and_answer_sagas_from_PostgreSql_after_restart() =>
        SagaCrashScenarios.ListAndGetAfterRestartAsync(NewSystem);

    public void Dispose()
    {
        if (_connectionString is not null) PostgreSqlTestServer.DropSchema(_schema);
    }

    /// <summary>Sums the ints it persists; "snapshot" saves the sum. Tells the probe what it recovers and the sum after each event.</summary>
    private sealed class Counter : ReceivePersistentActor
    {
        private int _sum;

        public Counter(string id, IActorRef probe)
        {
            PersistenceId = id;
            Recover<SnapshotOffer>(o => { _sum = (int)o.Snapshot; probe.Tell(o); });
            Recover<int>(n => { _sum += n; probe.Tell(n); });
            Recover<RecoveryCompleted>(c => probe.Tell(c));
            Command<int>(n => Persist(n, e => { _sum += e; probe.Tell(_sum); }));
            Command<string>(_ => SaveSnapshot(_sum));
            Command<SaveSnapshotSuccess>(s => probe.Tell(s));
        }

        public override string PersistenceId { get; }
    }
}
