using Akka.Event;
using Akka.Hosting;
using Akka.Logger.Serilog;

// Akka 1.5.74 formats named templates itself (SemanticLogMessageFormatter is the default).

namespace QgaOrchestrator.Core.Logging;

/// <summary>Routes Akka's logging to Serilog with named-template (semantic) properties.</summary>
public static class QgaLoggingExtensions
{
    /// <summary>
    /// Serilog as the only Akka logger. Wire traffic is logged at Debug, so <paramref name="level"/>
    /// Debug plus a Serilog minimum of Debug shows every frame.
    /// </summary>
    public static AkkaConfigurationBuilder WithQgaSerilog(this AkkaConfigurationBuilder builder, LogLevel level = LogLevel.InfoLevel) =>
        builder.ConfigureLoggers(setup =>
        {
            setup.LogLevel = level;
            setup.ClearLoggers();
            setup.AddLogger<SerilogLogger>();
        });
}
