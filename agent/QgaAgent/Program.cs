using QgaAgent.Runtime;
using QgaOrchestrator.Protocol;
using QgaOrchestrator.Protocol.Qga;

namespace QgaAgent;

internal static class Program
{
    private static int Main(string[] args)
    {
        AgentOptions options;
        AgentAction action;
        try
        {
            (options, action) = OptionsParser.Parse(args);
        }
        catch (OptionsException e)
        {
            Console.Error.WriteLine($"qga-agent: {e.Message}");
            Console.Error.WriteLine("Try 'qga-agent --help' for more information.");
            return 1;
        }
        switch (action)
        {
            case AgentAction.Help:
                Console.Out.Write(OptionsParser.Usage("qga-agent"));
                return 0;
            case AgentAction.Version:
                Console.Out.WriteLine(AgentVersion.Line);
                return 0;
            case AgentAction.DumpConfig:
                Console.Out.Write(options.DumpConfig());
                return 0;
            case AgentAction.ListRpcs:
                foreach (var c in QgaCommands.All) Console.Out.WriteLine(c.Name);
                return 0;
        }
        if (options.Daemonize)
        {
            // Safe choice: a .NET process cannot fork; run in the foreground under systemd instead.
            Console.Error.WriteLine("qga-agent: --daemonize is not supported; run in the foreground (see qga-agent.service)");
            return 1;
        }
        try
        {
            using var host = new AgentHost(options);
            return host.Run();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"qga-agent: {e.Message}");
            return 1;
        }
    }
}
