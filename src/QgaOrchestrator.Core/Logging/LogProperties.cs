namespace QgaOrchestrator.Core.Logging;

/// <summary>The structured-log property names every actor uses (Serilog PascalCase).</summary>
public static class LogProperties
{
    public const string VmId = "VmId";
    public const string RequestId = "RequestId";
    public const string SagaId = "SagaId";
    public const string Command = "Command";
    public const string Wire = "Wire";
}
