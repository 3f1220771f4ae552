using Akka.Configuration;

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
        $"Data Source={SqlitePath(stateDir)};Pooling=True;Cache=Shared";

    /// <summary>HOCON making Akka.Persistence.Sql on a SQLite file the default journal and snapshot store.</summary>
    public static Config Sqlite(string stateDir)
    {
        Directory.CreateDirectory(stateDir);
        return Sql(SqliteConnectionString(stateDir), SqliteProvider);
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
            """);
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
