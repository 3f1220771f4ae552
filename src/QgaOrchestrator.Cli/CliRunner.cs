using System.CommandLine;
using QgaOrchestrator.Cli.Api;

namespace QgaOrchestrator.Cli;

/// <summary>Runs one verb: builds its <see cref="CliContext"/> and client, and turns every failure into its exit code.</summary>
internal sealed class CliRunner(TextWriter stdout, TextWriter stderr, bool interactive)
{
    public TextWriter Out => stdout;
    public TextWriter Err => stderr;

    public async Task<int> ApiAsync(ParseResult parse, Func<CliContext, ApiClient, Task<int>> verb)
    {
        CliContext cli;
        try
        {
            cli = CliContext.From(parse, stdout, stderr, interactive);
        }
        catch (UsageException e)
        {
            return Usage(e.Message);
        }
        try
        {
            using var api = cli.Client();
            return await verb(cli, api);
        }
        catch (UsageException e)
        {
            return Usage(e.Message);
        }
        catch (ApiException e)
        {
            return cli.Fail(e);
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine("qgaorch: interrupted");
            return ExitCodes.Interrupted;
        }
    }

    private int Usage(string message)
    {
        stderr.WriteLine($"qgaorch: {message}");
        return ExitCodes.Usage;
    }
}
