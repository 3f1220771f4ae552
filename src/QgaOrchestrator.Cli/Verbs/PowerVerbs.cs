using System.CommandLine;

namespace QgaOrchestrator.Cli.Verbs;

/// <summary>
/// <c>suspend</c>, <c>resume</c>, <c>shutdown</c>: power sagas over a group. The server checks every
/// value (mode, timeout, fallback with reboot) and names the field; with --wait the exit code is the
/// saga's (0 completed, 4 failed or aborted).
/// </summary>
internal static class PowerVerbs
{
    public static Command Suspend(CliRunner run)
    {
        var mode = new Option<string?>("--mode") { Description = "ram | disk | hybrid (default ram)" };
        mode.AcceptOnlyFromAmong("ram", "disk", "hybrid");
        var timeout = new Option<string?>("--timeout") { Description = "per VM: how long QEMU has to confirm (default 60s ram, 5m disk/hybrid)" };
        return Create(run, "suspend", "suspend a group (guest-suspend-*), each VM confirmed by QEMU", "/sagas/suspend",
            [mode, timeout], (parse, body) =>
            {
                body["mode"] = parse.GetValue(mode);
                body["timeout"] = parse.GetValue(timeout);
            });
    }

    public static Command Resume(CliRunner run)
    {
        var timeout = new Option<string?>("--timeout") { Description = "per VM: how long the wakeup may take (default 30s)" };
        return Create(run, "resume", "wake a suspended group (QMP system_wakeup), then re-sync each guest agent", "/sagas/resume",
            [timeout], (parse, body) => body["timeout"] = parse.GetValue(timeout));
    }

    public static Command Shutdown(CliRunner run)
    {
        var mode = new Option<string?>("--mode") { Description = "powerdown | halt | reboot (default powerdown)" };
        mode.AcceptOnlyFromAmong("powerdown", "halt", "reboot");
        var grace = new Option<string?>("--grace") { Description = "per VM: how long the guest has to go down (default 60s)" };
        var fallback = new Option<bool>("--fallback") { Description = "QMP system_powerdown when the agent is missing, refuses, or the grace passes (not with reboot)" };
        return Create(run, "shutdown", "shut a group down (guest-shutdown), each VM confirmed by QEMU", "/sagas/shutdown",
            [mode, grace, fallback], (parse, body) =>
            {
                body["mode"] = parse.GetValue(mode);
                body["grace"] = parse.GetValue(grace);
                body["fallback"] = parse.GetValue(fallback) ? true : null;
            });
    }

    private static Command Create(CliRunner run, string name, string description, string path, Option[] options,
        Action<ParseResult, Dictionary<string, object?>> fill)
    {
        var vms = GroupOptions.Vms();
        var selector = GroupOptions.Selector();
        var policy = new Option<string?>("--policy") { Description = "fail-group | continue-others: what one VM failing its checks does to the rest" };
        policy.AcceptOnlyFromAmong("fail-group", "continue-others");
        var wait = GroupOptions.Wait();
        var command = new Command(name, description) { vms, selector };
        foreach (var o in options) command.Options.Add(o);
        command.Options.Add(policy);
        command.Options.Add(wait);
        command.SetAction((parse, ct) => run.ApiAsync(parse, async (cli, api) =>
        {
            var body = GroupOptions.Body(parse, vms, selector);
            fill(parse, body);
            body["policy"] = parse.GetValue(policy);
            var saga = await api.PostAsync(path, body, ct);
            return await SagaVerbs.StartedAsync(cli, api, saga, parse.GetValue(wait), ct);
        }));
        return command;
    }
}
