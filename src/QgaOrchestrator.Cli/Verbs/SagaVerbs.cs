using System.CommandLine;
using System.Text.Json;
using QgaOrchestrator.Cli.Api;
using QgaOrchestrator.Cli.Output;

namespace QgaOrchestrator.Cli.Verbs;

/// <summary><c>snapshot</c>, <c>fstrim</c>, <c>sagas</c>, <c>saga ID [--follow]</c>, <c>snapshot-done ID</c>, <c>abort ID</c>.</summary>
internal static class SagaVerbs
{
    public static Command Snapshot(CliRunner run)
    {
        var vms = GroupOptions.Vms();
        var selector = GroupOptions.Selector();
        var deadline = GroupOptions.Deadline();
        var mode = new Option<string?>("--mode") { Description = "qmp | command | external (server default when left out)" };
        mode.AcceptOnlyFromAmong("qmp", "command", "external");
        var name = new Option<string?>("--name") { Description = "snapshot name (default snap-DATE)" };
        var wait = GroupOptions.Wait();
        var command = new Command("snapshot", "freeze a group, snapshot it, thaw it (a freeze-snapshot-thaw saga)") { vms, selector, mode, deadline, name, wait };
        command.SetAction((parse, ct) => run.ApiAsync(parse, async (cli, api) =>
        {
            var body = GroupOptions.Body(parse, vms, selector);
            body["mode"] = parse.GetValue(mode);
            body["deadline"] = parse.GetValue(deadline);
            body["name"] = parse.GetValue(name);
            var saga = await api.PostAsync("/sagas/freeze-snapshot-thaw", body, ct);
            return await StartedAsync(cli, api, saga, parse.GetValue(wait), ct);
        }));
        return command;
    }

    public static Command Fstrim(CliRunner run)
    {
        var vms = GroupOptions.Vms();
        var selector = GroupOptions.Selector();
        var concurrency = new Option<int?>("--concurrency") { Description = "VMs trimmed at once (default 2)" };
        var minimum = new Option<long?>("--minimum") { Description = "guest-fstrim minimum extent in bytes" };
        var wait = new Option<bool>("--wait") { Description = "follow the trim to its end" };
        var command = new Command("fstrim", "guest-fstrim on a group with a concurrency limit") { vms, selector, concurrency, minimum, wait };
        command.SetAction((parse, ct) => run.ApiAsync(parse, async (cli, api) =>
        {
            var body = GroupOptions.Body(parse, vms, selector);
            body["concurrency"] = parse.GetValue(concurrency);
            body["minimum"] = parse.GetValue(minimum);
            var saga = await api.PostAsync("/sagas/fstrim", body, ct);
            return await StartedAsync(cli, api, saga, parse.GetValue(wait), ct);
        }));
        return command;
    }

    public static Command Sagas(CliRunner run)
    {
        var command = new Command("sagas", "list the sagas of this node, oldest first");
        command.SetAction((parse, ct) => run.ApiAsync(parse, async (cli, api) =>
        {
            var sagas = await api.GetAsync("/sagas", ct);
            if (cli.AsJson) cli.PrintJson(sagas);
            else
            {
                cli.Out.WriteLine($"{"ID",-36} {"KIND",-22} {"REGISTERED",-20} OUTCOME");
                foreach (var s in sagas.Items())
                    cli.Out.WriteLine($"{s.Str("id"),-36} {s.Str("kind"),-22} {s.Str("registeredAt")?[..19],-20} {s.Str("outcome") ?? "running"}");
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command Saga(CliRunner run)
    {
        var id = new Argument<string>("id") { Description = "saga id" };
        var follow = new Option<bool>("--follow", "-f") { Description = "follow the saga's progress until it ends" };
        var command = new Command("saga", "one saga with each VM's timeline") { id, follow };
        command.SetAction((parse, ct) => run.ApiAsync(parse, async (cli, api) =>
        {
            var sagaId = parse.GetValue(id)!;
            if (parse.GetValue(follow))
            {
                var end = await SagaFollow.UntilEndAsync(api, sagaId, new SagaProgress(cli), ct);
                new SagaProgress(cli).Summary(end);
                return SagaFollow.ExitCodeOf(end);
            }
            var saga = await api.GetAsync("/sagas/" + Uri.EscapeDataString(sagaId), ct);
            if (cli.AsJson) cli.PrintJson(saga);
            else PrintTimeline(cli, saga);
            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command SnapshotDone(CliRunner run)
    {
        var id = new Argument<string>("id") { Description = "saga id" };
        var error = new Option<string?>("--error") { Description = "your snapshot failed: why (the saga thaws and fails)" };
        var command = new Command("snapshot-done", "external mode: your snapshot is taken; the saga thaws the group") { id, error };
        command.SetAction((parse, ct) => run.ApiAsync(parse, async (cli, api) =>
        {
            var saga = await api.PostAsync($"/sagas/{Uri.EscapeDataString(parse.GetValue(id)!)}/snapshot-done", new { error = parse.GetValue(error) }, ct);
            if (cli.AsJson) cli.PrintJson(saga);
            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command Abort(CliRunner run)
    {
        var id = new Argument<string>("id") { Description = "saga id" };
        var reason = new Option<string?>("--reason") { Description = "why (kept in the saga)" };
        var command = new Command("abort", "abort a running saga; it thaws whatever may be frozen") { id, reason };
        command.SetAction((parse, ct) => run.ApiAsync(parse, async (cli, api) =>
        {
            var saga = await api.PostAsync($"/sagas/{Uri.EscapeDataString(parse.GetValue(id)!)}/abort", new { reason = parse.GetValue(reason) }, ct);
            if (cli.AsJson) cli.PrintJson(saga);
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>After a saga was accepted: print its id (or follow it with --wait).</summary>
    public static async Task<int> StartedAsync(CliContext cli, ApiClient api, JsonElement saga, bool wait, CancellationToken ct)
    {
        var id = saga.Str("id")!;
        if (!wait)
        {
            if (cli.AsJson) cli.PrintJson(saga);
            else cli.Out.WriteLine(id);
            return ExitCodes.Ok;
        }
        if (!cli.AsJson) cli.Err.WriteLine($"saga {id} started");
        var progress = new SagaProgress(cli);
        var end = await SagaFollow.UntilEndAsync(api, id, progress, ct);
        progress.Summary(end);
        return SagaFollow.ExitCodeOf(end);
    }

    private static void PrintTimeline(CliContext cli, JsonElement saga)
    {
        cli.Out.WriteLine($"saga {saga.Str("id")} ({saga.Str("kind")}{(saga.Str("mode") is { } m ? ", mode " + m : "")}): {saga.Str("phase")}" +
            $"{(saga.Str("outcome") is { } o ? ", " + o : "")}{(saga.Str("reason") is { } r ? ": " + r : "")}");
        foreach (var vm in saga.Items("vms"))
        {
            if (vm.Str("command") is { } sent)
            {
                cli.Out.WriteLine($"  {vm.Str("vmId"),-20} {vm.Str("step"),-14} {sent}{((vm.Str("evidence") ?? vm.Str("reason")) is { } what ? "  " + what : "")}");
                continue;
            }
            var times = new[] { "freezeStartedAt", "frozenAt", "snapshotAt", "thawedAt" }
                .Select(k => vm.Str(k) is { } t ? $"{k[..^2]} {t[11..23]}" : null).Where(t => t is not null);
            cli.Out.WriteLine($"  {vm.Str("vmId"),-20} {vm.Str("step"),-14} {string.Join("  ", times)}{(vm.Str("reason") is { } why ? "  " + why : "")}");
        }
    }
}
