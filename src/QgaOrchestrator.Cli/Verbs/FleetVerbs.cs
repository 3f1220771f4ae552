using System.CommandLine;
using System.Text.Json;
using QgaOrchestrator.Cli.Api;

namespace QgaOrchestrator.Cli.Verbs;

/// <summary><c>qgaorch vms</c>, <c>vm ID</c>, <c>cmd ID COMMAND [ARGS-JSON]</c>.</summary>
internal static class FleetVerbs
{
    public static Command Vms(CliRunner run)
    {
        var command = new Command("vms", "list this node's VMs with agent and monitor status");
        command.SetAction((parse, ct) => run.ApiAsync(parse, async (cli, api) =>
        {
            var vms = await api.GetAsync("/vms", ct);
            if (cli.AsJson) cli.PrintJson(vms);
            else
            {
                cli.Out.WriteLine($"{"ID",-20} {"SOURCE",-8} {"AGENT",-14} {"FREEZE",-8} {"QMP",-5} LABELS");
                foreach (var vm in vms.Items())
                {
                    var agent = vm.Bool("agentConnected") ? vm.Str("agentVersion") ?? "connected" : "down";
                    var qmp = vm.Str("qmpSocket") is null ? "-" : vm.Bool("monitorConnected") ? "up" : "down";
                    var labels = vm.TryGetProperty("labels", out var l) && l.ValueKind == JsonValueKind.Object
                        ? string.Join(",", l.EnumerateObject().Select(p => $"{p.Name}={p.Value.GetString()}")) : "";
                    cli.Out.WriteLine($"{vm.Str("id"),-20} {vm.Str("source") ?? "fleet",-8} {agent,-14} {vm.Str("freezeStatus") ?? "-",-8} {qmp,-5} {labels}");
                }
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command Vm(CliRunner run)
    {
        var id = new Argument<string>("id") { Description = "VM id" };
        var command = new Command("vm", "one VM's status and the commands its agent enables") { id };
        command.SetAction((parse, ct) => run.ApiAsync(parse, async (cli, api) =>
        {
            var vm = await api.GetAsync("/vms/" + Uri.EscapeDataString(parse.GetValue(id)!), ct);
            if (cli.AsJson) cli.PrintJson(vm);
            else
                foreach (var p in vm.EnumerateObject())
                    cli.Out.WriteLine($"{p.Name + ":",-18} {(p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : p.Value.GetRawText())}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    public static Command Cmd(CliRunner run)
    {
        var id = new Argument<string>("id") { Description = "VM id" };
        var name = new Argument<string>("command") { Description = "a qga schema command, e.g. guest-info" };
        var args = new Argument<string?>("args-json") { Description = "the command's arguments as a JSON object", Arity = ArgumentArity.ZeroOrOne };
        var timeout = new Option<string?>("--timeout") { Description = "override the command's timeout (e.g. 5s)" };
        var command = new Command("cmd", "run one guest agent command through qgaorchd and print its return value") { id, name, args, timeout };
        command.SetAction((parse, ct) => run.ApiAsync(parse, async (cli, api) =>
        {
            var path = $"/vms/{Uri.EscapeDataString(parse.GetValue(id)!)}/commands/{Uri.EscapeDataString(parse.GetValue(name)!)}";
            if (parse.GetValue(timeout) is { } t) path += "?timeout=" + Uri.EscapeDataString(t);
            var result = await api.PostRawAsync(path, parse.GetValue(args), ct);
            if (cli.AsJson) cli.PrintJson(result);
            else cli.Out.WriteLine(result.TryGetProperty("return", out var r) ? r.GetRawText() : "{}");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
