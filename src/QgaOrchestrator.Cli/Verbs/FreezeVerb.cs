using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using QgaOrchestrator.Cli.Api;
using QgaOrchestrator.Cli.Output;

namespace QgaOrchestrator.Cli.Verbs;

/// <summary>
/// <c>qgaorch freeze --vms a,b --deadline 30s -- COMMAND...</c>: an external-mode saga around a command.
/// Freeze the group; when every VM is frozen run COMMAND (env QGAORCH_SAGA_ID, QGAORCH_VMS); send
/// snapshot-done (with the error if COMMAND failed); wait for the thaw; exit with COMMAND's code.
/// Exit 5 when the group could not be frozen (COMMAND not run), 4 when the freeze ended before COMMAND
/// did (the deadline passed: the snapshot is not consistent). Whatever happens — an error, Ctrl-C,
/// SIGTERM — the saga is ended (aborted, which thaws) before qgaorch exits.
/// </summary>
internal static class FreezeVerb
{
    /// <summary>How long the abort on the way out may wait for the saga to end.</summary>
    public static readonly TimeSpan AbortWait = TimeSpan.FromSeconds(60);

    public static Command Create(CliRunner run)
    {
        var vms = GroupOptions.Vms();
        var selector = GroupOptions.Selector();
        var deadline = GroupOptions.Deadline();
        var name = new Option<string?>("--name") { Description = "snapshot name (default snap-DATE)" };
        var program = new Argument<string[]>("command") { Description = "the command to run while frozen (after --)", Arity = ArgumentArity.OneOrMore };
        var command = new Command("freeze", "hold a group frozen while COMMAND takes the snapshot, then thaw; exit with COMMAND's code")
            { vms, selector, deadline, name, program };
        command.SetAction((parse, ct) => run.ApiAsync(parse, (cli, api) =>
        {
            var body = GroupOptions.Body(parse, vms, selector);
            body["mode"] = "external";
            body["deadline"] = parse.GetValue(deadline);
            body["name"] = parse.GetValue(name);
            return RunAsync(cli, api, body, parse.GetValue(program)!, ct);
        }));
        return command;
    }

    private static async Task<int> RunAsync(CliContext cli, ApiClient api, Dictionary<string, object?> body, string[] program, CancellationToken ct)
    {
        // Our own id: if the answer to the start is lost (Ctrl-C, a dropped connection) we can still end the saga.
        var id = "freeze-" + DateTimeOffset.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..6];
        body["id"] = id;
        var log = cli with { Out = cli.Err, Interactive = false }; // stdout belongs to COMMAND
        var progress = new SagaProgress(log);
        var ended = false;
        Process? child = null;
        try
        {
            await api.PostAsync("/sagas/freeze-snapshot-thaw", body, ct);
            var allFrozen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var follow = SagaFollow.UntilEndAsync(api, id, progress, ct, saga =>
            {
                if (saga.Bool("awaitingSnapshot")) allFrozen.TrySetResult();
                return Task.CompletedTask;
            });
            if (await Task.WhenAny(allFrozen.Task, follow) == follow)
            {
                var failed = await follow;
                ended = true;
                cli.Err.WriteLine($"qgaorch: the group was not frozen ({failed.Str("outcome")}: {failed.Str("reason")}); COMMAND not run");
                Finish(cli, failed);
                return ExitCodes.FreezeFailed;
            }

            child = Start(program, id, body);
            var exited = child.WaitForExitAsync(ct);
            var endedEarly = await Task.WhenAny(exited, follow) == follow;
            if (endedEarly) cli.Err.WriteLine("qgaorch: the freeze ended before COMMAND finished (deadline?): the snapshot is NOT consistent; waiting for COMMAND");
            await exited;
            var code = child.ExitCode;
            if (!endedEarly)
            {
                try
                {
                    await api.PostAsync($"/sagas/{id}/snapshot-done", new { error = code == 0 ? null : $"COMMAND exited {code}" }, ct);
                }
                catch (ApiException e) when (e.Status == 409)
                {
                    endedEarly = true; // the deadline won the race
                }
            }
            var final = await follow;
            ended = true;
            Finish(cli, final);
            if (code != 0) return code;
            return endedEarly ? ExitCodes.SagaFailed : SagaFollow.ExitCodeOf(final);
        }
        catch (OperationCanceledException)
        {
            cli.Err.WriteLine($"qgaorch: interrupted: aborting saga {id} (thaws the group)");
            return ExitCodes.Interrupted;
        }
        finally
        {
            if (child is { HasExited: false })
            {
                child.Kill(entireProcessTree: true);
                await child.WaitForExitAsync(CancellationToken.None);
            }
            child?.Dispose();
            if (!ended) await AbortAsync(cli, api, id);
        }
    }

    private static Process Start(string[] program, string id, Dictionary<string, object?> body)
    {
        var psi = new ProcessStartInfo(program[0]) { UseShellExecute = false };
        foreach (var a in program.Skip(1)) psi.ArgumentList.Add(a);
        psi.Environment["QGAORCH_SAGA_ID"] = id;
        if (body.TryGetValue("vms", out var v) && v is string[] vms) psi.Environment["QGAORCH_VMS"] = string.Join(',', vms);
        try
        {
            return Process.Start(psi) ?? throw new UsageException($"cannot start {program[0]}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new UsageException($"cannot start {program[0]}: {e.Message}");
        }
    }

    /// <summary>Best effort, never cancelled by the user: abort, then wait (bounded) until the saga says it ended.</summary>
    private static async Task AbortAsync(CliContext cli, ApiClient api, string id)
    {
        using var cts = new CancellationTokenSource(AbortWait);
        try
        {
            await api.PostAsync($"/sagas/{id}/abort", new { reason = "qgaorch freeze: interrupted or failed" }, cts.Token);
        }
        catch (ApiException e) when (e.Status is 404 or 409)
        {
            return; // never started, or already ended
        }
        catch (Exception e) when (e is ApiException or OperationCanceledException)
        {
            cli.Err.WriteLine($"qgaorch: could not abort saga {id}: {e.Message} (its deadline thaws the group)");
            return;
        }
        try
        {
            var end = await SagaFollow.UntilEndAsync(api, id, new SagaProgress(cli with { Out = cli.Err, Interactive = false }), cts.Token);
            cli.Err.WriteLine($"qgaorch: saga {id} ended {end.Str("outcome")}");
        }
        catch (Exception e) when (e is ApiException or OperationCanceledException)
        {
            cli.Err.WriteLine($"qgaorch: saga {id} did not report its end: {e.Message} (its deadline thaws the group)");
        }
    }

    private static void Finish(CliContext cli, JsonElement saga)
    {
        if (cli.AsJson) cli.PrintJson(saga);
        else new SagaProgress(cli with { Out = cli.Err }).Summary(saga);
    }
}
