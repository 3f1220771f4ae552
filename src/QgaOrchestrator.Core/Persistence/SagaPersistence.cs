using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Persistence.Sql.Config;
using LinqToDB;

namespace QgaOrchestrator.Core.Persistence;

/// <summary>
/// Journal + snapshot store configuration for the sagas (Akka.Persistence.Sql over linq2db, schema
/// auto-created). Embedded default: a SQLite file under the state dir. PostgreSQL: an Npgsql connection
/// string (provider PostgreSQL.15); the tables (journal, tags, snapshot) are created in the first schema of
/// its search path, so <c>Search Path=myschema</c> in the connection string keeps them apart.
/// </summary>
public static class SagaPersistence
{
    public const string SqliteProvider = "SQLite.MS";
    public const string PostgreSqlProvider = "PostgreSQL.15";

    /// <summary>The SQLite file used under <paramref name="stateDir"/>.</summary>
    public static string SqlitePath(string stateDir) => Path.Combine(stateDir, "sagas.db");

    public static string SqliteConnectionString(string stateDir) =>
        $"Data Source={SqlitePath(stateDir)};Pooling=True";

    /// <summary>HOCON making Akka.Persistence.Sql on a SQLite file the default journal and snapshot store.</summary>
    public static Config Sqlite(string stateDir)
    {
        Directory.CreateDirectory(stateDir);
        UseWriteAheadLog(stateDir);
        return Sql(SqliteConnectionString(stateDir), SqliteProvider);
    }

    /// <summary>
    /// WAL is a property of the database file (it persists across connections): one fsync per commit
    /// instead of the rollback journal's several, and readers never block the writer.
    /// </summary>
    private static void UseWriteAheadLog(string stateDir)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={SqlitePath(stateDir)};Pooling=False");
        connection.Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode=WAL;";
        pragma.ExecuteNonQuery();
    }

    /// <summary>Binds every <see cref="IJournalEvent"/> to <see cref="JournalEventSerializer"/> (included by <see cref="Sql"/>).</summary>
    public static Config Serialization { get; } = ConfigurationFactory.ParseString($$"""
        akka.actor {
          serializers.{{JournalEventSerializer.Name}} = "{{typeof(JournalEventSerializer).AssemblyQualifiedName}}"
          serialization-bindings {
            "{{typeof(IJournalEvent).FullName}}, {{typeof(IJournalEvent).Assembly.GetName().Name}}" = {{JournalEventSerializer.Name}}
          }
          serialization-identifiers {
            "{{typeof(JournalEventSerializer).FullName}}, {{typeof(JournalEventSerializer).Assembly.GetName().Name}}" = {{JournalEventSerializer.Id}}
          }
        }
        """);

    /// <summary>
    /// Per-connection <c>PRAGMA synchronous=NORMAL</c> for the SQLite journal (add it to the ActorSystem setup;
    /// without it the journal runs WAL with SQLite's default FULL). In WAL mode NORMAL fsyncs only at checkpoints,
    /// not per commit: a committed event survives a crash of the orchestrator process (it is in the OS page
    /// cache), but the last commits can be lost on power loss or a kernel crash. That is acceptable here:
    /// the orchestrator runs on the host of its VMs, and a host that loses power loses the guests' freeze too.
    /// </summary>
    public static Setup SqliteSetup(string stateDir) => new DataOptionsSetup(new DataOptions()
        .UseConnectionString(SqliteProvider, SqliteConnectionString(stateDir))
        .UseAfterConnectionOpened(SetSynchronousNormal, (c, ct) => { SetSynchronousNormal(c); return Task.CompletedTask; }));

    /// <summary>A complete ActorSystem setup: <see cref="Sqlite"/> HOCON over <paramref name="fallback"/> plus <see cref="SqliteSetup"/>.</summary>
    public static ActorSystemSetup SqliteSystemSetup(string stateDir, Config? fallback = null) =>
        BootstrapSetup.Create().WithConfig(fallback is null ? Sqlite(stateDir) : Sqlite(stateDir).WithFallback(fallback)).And(SqliteSetup(stateDir));

    private static void SetSynchronousNormal(System.Data.Common.DbConnection connection)
    {
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA synchronous=NORMAL;";
        pragma.ExecuteNonQuery();
    }

    public static Config PostgreSql(string connectionString) => Sql(connectionString, PostgreSqlProvider);

    public static Config Sql(string connectionString, string providerName)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        ArgumentException.ThrowIfNullOrEmpty(providerName);
        var cs = Quote(connectionString);
        var pn = Quote(providerName);
        return ConfigurationFactory.ParseString($$"""
            akka.persistence {
              journal {
                plugin = "akka.persistence.journal.sql"
                sql {
                  class = "Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql"
                  connection-string = {{cs}}
                  provider-name = {{pn}}
                  auto-initialize = true
                }
              }
              snapshot-store {
                plugin = "akka.persistence.snapshot-store.sql"
                sql {
                  class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
                  connection-string = {{cs}}
                  provider-name = {{pn}}
                  auto-initialize = true
                }
              }
            }
            """).WithFallback(Serialization);
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
