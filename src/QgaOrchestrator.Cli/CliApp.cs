using System.CommandLine;
using QgaOrchestrator.Cli.Verbs;

namespace QgaOrchestrator.Cli;

/// <summary>
/// qgaorch: the client of qgaorchd's HTTP API (vms, vm, cmd, snapshot, freeze, fstrim, suspend, resume,
/// shutdown, sagas, saga, snapshot-done, abort) plus the direct <c>guest</c> mode that talks to one socket without the service.
/// </summary>
internal static class CliApp
{
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, bool interactive, CancellationToken ct)
    {
        if (args is ["guest", .. var rest])
            return await GuestCommand.RunAsync(rest, stdout, stderr);
        var run = new CliRunner(stdout, stderr, interactive);
        var root = new RootCommand("qgaorch: drive the QEMU guest agents of this node through qgaorchd")
        {
            FleetVerbs.Vms(run), FleetVerbs.Vm(run), FleetVerbs.Cmd(run),
            SagaVerbs.Snapshot(run), FreezeVerb.Create(run), SagaVerbs.Fstrim(run),
            PowerVerbs.Suspend(run), PowerVerbs.Resume(run), PowerVerbs.Shutdown(run),
            SagaVerbs.Sagas(run), SagaVerbs.Saga(run), SagaVerbs.SnapshotDone(run), SagaVerbs.Abort(run),
            new Command("guest", "direct mode without qgaorchd: " + GuestCommand.UsageText["usage: qgaorch guest ".Length..]),
        };
        root.Options.Add(CliContext.Server);
        root.Options.Add(CliContext.TokenFile);
        root.Options.Add(CliContext.Json);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) stderr.WriteLine($"qgaorch: {e.Message}");
            stderr.WriteLine("try: qgaorch --help");
            return ExitCodes.Usage;
        }
        // Signals are ours (Program): a freeze must end its saga before the process goes, however long that takes.
        return await parse.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr, ProcessTerminationTimeout = null }, ct);
    }
}
