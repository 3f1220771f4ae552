using Npgsql;

namespace QgaOrchestrator.Sagas.Tests;

/// <summary>
/// The PostgreSQL server of the tests: <c>QGAORCH_TEST_PG</c> (an Npgsql connection string; .ci/postgres
/// starts one and prints it). Each test gets its own schema so runs never see each other's journal.
/// </summary>
internal static class PostgreSqlTestServer
{
    public const string EnvVar = "QGAORCH_TEST_PG";

    public static string? ConnectionString => Environment.GetEnvironmentVariable(EnvVar);

    private static readonly Lazy<string?> Unavailable = new(() =>
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
            return $"needs a PostgreSQL server: set {EnvVar} (e.g. eval \"$(.ci/postgres start)\")";
        try
        {
            using var c = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString) { Timeout = 5 }.ConnectionString);
            c.Open();
            return null;
        }
        catch (Exception e) when (e is NpgsqlException or ArgumentException or InvalidOperationException)
        {
            return $"PostgreSQL at {EnvVar} is unreachable: {e.Message}";
        }
    });

    /// <summary>Why the PostgreSQL tests cannot run here (null: they can).</summary>
    public static string? SkipReason => Unavailable.Value;

    /// <summary>Creates a fresh schema; the returned connection string puts it first on the search path.</summary>
    public static string CreateSchema(string schema)
    {
        Exec($"CREATE SCHEMA {schema}");
        return new NpgsqlConnectionStringBuilder(ConnectionString) { SearchPath = schema }.ConnectionString;
    }

    public static void DropSchema(string schema)
    {
        NpgsqlConnection.ClearAllPools();
        Exec($"DROP SCHEMA IF EXISTS {schema} CASCADE");
    }

    public static long Scalar(string sql)
    {
        using var c = new NpgsqlConnection(ConnectionString);
        c.Open();
        using var cmd = new NpgsqlCommand(sql, c);
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Exec(string sql)
    {
        using var c = new NpgsqlConnection(ConnectionString);
        c.Open();
        using var cmd = new NpgsqlCommand(sql, c);
        cmd.ExecuteNonQuery();
    }
}

public sealed class PostgreSqlFactAttribute : FactAttribute
{
    public PostgreSqlFactAttribute()
    {
        if (PostgreSqlTestServer.SkipReason is { } why) Skip = why; // null when QGAORCH_TEST_PG names a server
    }
}

public sealed class PostgreSqlTheoryAttribute : TheoryAttribute
{
    public PostgreSqlTheoryAttribute()
    {
        if (PostgreSqlTestServer.SkipReason is { } why) Skip = why;
    }
}
