using System.Globalization;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using QgaOrchestrator.Core.Channel;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol;
using QgaOrchestrator.Protocol.Qga;

namespace QgaOrchestrator.Cli;

/// <summary>
/// <c>qgaorch guest --socket QGA_SOCK [--qmp QMP_SOCK] [--timeout S] COMMAND [JSON_ARGS]</c>: one
/// command through a real VM actor and guest channel (sync handshake included), like
/// <c>virsh qemu-agent-command</c>. Prints the <c>return</c> JSON. Exit 0 ok, 2 guest error, 3 timeout
/// or unreachable, 64 usage.
/// </summary>
internal static class GuestCommand
{
    public const int Ok = 0;
    public const int GuestError = 2;
    public const int Unreachable = 3;
    public const int Usage = 64;

    public const string UsageText = "usage: qgaorch guest --socket QGA_SOCK [--qmp QMP_SOCK] [--timeout S] COMMAND [JSON_ARGS]";

    private static readonly Config Quiet = ConfigurationFactory.ParseString("""
        akka.loglevel = OFF
        akka.stdout-loglevel = OFF
        akka.log-dead-letters = off
        akka.log-dead-letters-during-shutdown = off
        """);

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        string? socket = null, qmp = null, command = null, json = null;
        TimeSpan? timeout = null;
        for (int i = 0; i < args.Count; i++)
        {
            var a = args[i];
            string? Next() => i + 1 < args.Count ? args[++i] : null;
            switch (a)
            {
                case "--socket": socket = Next(); break;
                case "--qmp": qmp = Next(); break;
                case "--timeout":
                    if (!double.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) || s <= 0)
                        return UsageError(stderr, "--timeout needs a positive number of seconds");
                    timeout = TimeSpan.FromSeconds(s);
                    break;
                case "-h" or "--help":
                    stdout.WriteLine(UsageText);
                    return Ok;
                default:
                    if (a.StartsWith("--", StringComparison.Ordinal)) return UsageError(stderr, $"unknown option {a}");
                    if (command is null) command = a;
                    else if (json is null) json = a;
                    else return UsageError(stderr, $"unexpected argument {a}");
                    break;
            }
        }
        if (string.IsNullOrEmpty(socket)) return UsageError(stderr, "--socket is required");
        if (command is null) return UsageError(stderr, "COMMAND is required");
        var descriptor = QgaCommands.All.FirstOrDefault(c => c.Name == command);
        if (descriptor is null) return UsageError(stderr, $"unknown command {command} (not in the qga schema)");
        JsonElement? arguments = null;
        if (json is not null)
        {
            try
            {
                using var doc = JsonDocument.Parse(json);
                if (doc.RootElement.ValueKind != JsonValueKind.Object) return UsageError(stderr, "JSON_ARGS must be a JSON object");
                arguments = doc.RootElement.Clone();
            }
            catch (JsonException e)
            {
                return UsageError(stderr, $"JSON_ARGS is not valid JSON: {e.Message}");
            }
        }

        var vmSettings = new Vm.Settings { QueryAgentOnConnect = false };
        var effective = timeout ?? vmSettings.Guest.TimeoutFor(command);
        var config = new VmConfig { Id = "cli", QgaSocket = socket, QmpSocket = qmp };
        var system = ActorSystem.Create("qgaorch", Quiet);
        try
        {
            var vm = system.ActorOf(Vm.Props(config, vmSettings), "vm-cli");
            Vm.Executed reply;
            try
            {
                reply = await vm.Ask<Vm.Executed>(r => new Vm.Execute("cli", descriptor, arguments, "cli-1", r, effective),
                    effective + TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
            }
            catch (AskTimeoutException)
            {
                stderr.WriteLine($"error: timeout: no answer within {effective.TotalSeconds:0.###} s");
                return Unreachable;
            }
            return Report(reply, stdout, stderr);
        }
        finally
        {
            await system.Terminate().ConfigureAwait(false);
        }
    }

    private static int Report(Vm.Executed reply, TextWriter stdout, TextWriter stderr)
    {
        if (reply.Failure is { } f)
        {
            var kind = f.Kind switch
            {
                Vm.FailureKind.Timeout => "timeout",
                Vm.FailureKind.Unreachable => "unreachable",
                Vm.FailureKind.ChannelBroken => "channel broken",
                _ => "rejected",
            };
            stderr.WriteLine($"error: {kind}: {f.Reason}");
            return f.Kind == Vm.FailureKind.Rejected ? GuestError : Unreachable;
        }
        if (reply.Error is { } e)
        {
            stderr.WriteLine($"error: {e.Class}: {e.Desc}");
            return GuestError;
        }
        stdout.WriteLine(reply.Return?.GetRawText() ?? "{}");
        return Ok;
    }

    private static int UsageError(TextWriter stderr, string problem)
    {
        stderr.WriteLine($"qgaorch guest: {problem}");
        stderr.WriteLine(UsageText);
        return Usage;
    }
}
