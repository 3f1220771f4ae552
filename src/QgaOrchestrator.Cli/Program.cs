using System.Runtime.InteropServices;
using QgaOrchestrator.Cli;

var version = typeof(CliApp).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
if (args is ["--version"] or ["-V"])
{
    Console.WriteLine($"qgaorch {version}");
    return 0;
}
// SIGINT/SIGTERM/SIGHUP cancel the verb instead of killing the process: a freeze aborts its saga first.
using var cts = new CancellationTokenSource();
void Cancel(PosixSignalContext context)
{
    context.Cancel = true;
    cts.Cancel();
}
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Cancel);
return await CliApp.RunAsync(args, Console.Out, Console.Error, interactive: !Console.IsOutputRedirected, cts.Token);
