using System.Diagnostics;
using Akka.Actor;
using Akka.Event;

namespace QgaOrchestrator.Core.Snapshots.Internal;

/// <summary>INTERNAL API. Runs the snapshot command(s) as processes (no shell) and reports exit codes.</summary>
internal sealed class CommandSnapshotActor : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly CancellationTokenSource _cts = new();

    public CommandSnapshotActor(CommandSnapshotProvider provider, SnapshotRequest request, IActorRef replyTo)
    {
        var runs = provider.PerVm ? request.VmIds.Select(v => (string?)v).ToList() : [null];
        foreach (var vm in runs)
        {
            IReadOnlyList<string> argv;
            try { argv = provider.Argv(request.SagaId, request.Name, vm); }
            catch (FormatException e) { replyTo.Tell(new SnapshotResult(request.SagaId, vm, e.Message)); continue; }
            Run(argv, provider.Timeout, _cts.Token)
                .ContinueWith(t => new SnapshotResult(request.SagaId, vm, t.IsCompletedSuccessfully ? t.Result : t.Exception?.GetBaseException().Message ?? "cancelled"),
                    TaskScheduler.Default)
                .PipeTo(Self);
        }
        Receive<SnapshotResult>(r =>
        {
            _log.Info("Snapshot command {SagaId} {VmId} done, error {Error}", r.SagaId, r.VmId, r.Error);
            replyTo.Tell(r);
        });
    }

    /// <returns>null on exit 0, else the reason.</returns>
    private static async Task<string?> Run(IReadOnlyList<string> argv, TimeSpan timeout, CancellationToken stop)
    {
        var psi = new ProcessStartInfo(argv[0]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in argv.Skip(1)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("process did not start");
        var stderr = p.StandardError.ReadToEndAsync(stop);
        _ = p.StandardOutput.ReadToEndAsync(stop);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
        cts.CancelAfter(timeout);
        try { await p.WaitForExitAsync(cts.Token).ConfigureAwait(false); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            return $"timed out after {timeout.TotalSeconds:0.###} s";
        }
        if (p.ExitCode == 0) return null;
        var err = (await stderr.ConfigureAwait(false)).Trim();
        return $"exit code {p.ExitCode}" + (err.Length > 0 ? ": " + err[..Math.Min(err.Length, 500)] : "");
    }

    protected override void PostStop()
    {
        _cts.Cancel(); // the saga moved on: kill what is still running
        _cts.Dispose();
    }
}
