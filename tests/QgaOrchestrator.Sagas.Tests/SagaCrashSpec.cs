using Akka.Actor;
using Akka.Configuration;
using Microsoft.Data.Sqlite;
using QgaOrchestrator.Core.Persistence;

namespace QgaOrchestrator.Sagas.Tests;

/// <summary>
/// The orchestrator (a whole ActorSystem) is terminated at each step of a saga and started again on the
/// same SQLite journal FILE (<see cref="SagaCrashScenarios"/>). Every guest must end thawed and the saga
/// must end Aborted or Completed.
/// </summary>
public sealed class SagaCrashSpec : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "qga-saga-crash-" + Guid.NewGuid().ToString("N"));

    private ActorSystem NewSystem(string name) => ActorSystem.Create(name,
        SagaPersistence.Sqlite(_dir).WithFallback(ConfigurationFactory.ParseString("akka.loglevel = WARNING")));

    [Theory]
    [InlineData(CrashPoint.AfterFreezeRequested)]
    [InlineData(CrashPoint.AfterAllFrozen)]
    [InlineData(CrashPoint.DuringSnapshot)]
    [InlineData(CrashPoint.DuringThaw)]
    public Task Saga_must_leave_every_guest_thawed_after_an_orchestrator_crash(CrashPoint point) =>
        SagaCrashScenarios.CrashAndRecoverAsync(NewSystem, point);

    [Fact]
    public Task SagaManager_must_list_and_answer_sagas_from_the_sqlite_file_after_restart() =>
        SagaCrashScenarios.ListAndGetAfterRestartAsync(NewSystem);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }
}
