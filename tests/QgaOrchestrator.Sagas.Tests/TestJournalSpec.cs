using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.TestKit;

namespace QgaOrchestrator.Sagas.Tests;

/// <summary>
/// A TestKit on Akka's TestJournal (in-memory snapshots): the journal-failure specs make chosen writes
/// fail through <see cref="Journal"/> and check that no side effect went out without its journaled intent.
/// </summary>
public abstract class TestJournalSpec() : Akka.TestKit.Xunit2.TestKit(Hocon)
{
    private static readonly Config Hocon = ConfigurationFactory.ParseString("""
        akka.persistence.journal.plugin = "akka.persistence.journal.test"
        akka.persistence.journal.test {
          class = "Akka.Persistence.TestKit.TestJournal, Akka.Persistence.TestKit"
          plugin-dispatcher = "akka.actor.default-dispatcher"
        }
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        """);

    protected ITestJournal Journal => TestJournal.FromRef(Persistence.Instance.Apply(Sys).JournalFor(null));
}
