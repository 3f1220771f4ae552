namespace QgaOrchestrator.Cli;

/// <summary>The exit codes of qgaorch (README "Exit codes"): stable, for backup scripts.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The guest agent answered an error.</summary>
    public const int GuestError = 2;
    /// <summary>The agent did not answer in time or is not reachable (also a 504 from qgaorchd).</summary>
    public const int Unreachable = 3;
    /// <summary>The saga ended failed or aborted (every VM thawed).</summary>
    public const int SagaFailed = 4;
    /// <summary>freeze: the group could not be frozen; COMMAND was not run.</summary>
    public const int FreezeFailed = 5;
    /// <summary>qgaorchd is not reachable or failed (connection refused, 5xx).</summary>
    public const int ServerError = 6;
    /// <summary>qgaorchd refused the token (401) or the token file cannot be read.</summary>
    public const int Unauthorized = 7;
    /// <summary>Usage error, or input qgaorchd refused (400/404/409 naming the field).</summary>
    public const int Usage = 64;
    /// <summary>Interrupted (SIGINT/SIGTERM) after ending the saga.</summary>
    public const int Interrupted = 130;
}
