using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol;
using QgaOrchestrator.Protocol.Qga;
using Serilog.Context;

namespace QgaOrchestrator.Host.Api;

/// <summary><c>/vms</c>: the fleet's status and any schema command on one VM.</summary>
public static partial class VmEndpoints
{
    /// <summary>The longest a single command may be given (<c>?timeout=</c>).</summary>
    public static readonly TimeSpan MaxCommandTimeout = TimeSpan.FromMinutes(10);

    /// <summary>
    /// A bare freeze is refused: only the freeze-snapshot-thaw saga freezes, because only it guarantees
    /// the thaw (deadline, compensation, recovery). Thaw and status stay open for operators.
    /// </summary>
    public static readonly IReadOnlySet<string> SagaOnlyCommands = new HashSet<string>(StringComparer.Ordinal)
    {
        QgaCommands.GuestFsfreezeFreeze.Name,
        QgaCommands.GuestFsfreezeFreezeList.Name,
    };

    public static void MapVmEndpoints(this IEndpointRouteBuilder app)
    {
        var vms = app.MapGroup("/vms").WithTags("vms");
        vms.MapGet("/", ListAsync).WithSummary("Every VM of this node with its agent and monitor status").Produces<VmView[]>();
        vms.MapGet("/{id}", GetAsync).WithSummary("One VM's status and the commands its agent enables").Produces<VmView>().ProducesProblem(404);
        vms.MapPost("/{id}/commands/{command}", ExecuteAsync)
            .WithSummary("Run one schema command in the guest; the body is its arguments object; ?timeout=5s overrides the default")
            .Accepts<JsonElement>("application/json").Produces<CommandResultView>()
            .ProducesProblem(400).ProducesProblem(404).ProducesProblem(502).ProducesProblem(503).ProducesProblem(504);
    }

    private static async Task<IResult> ListAsync(Orchestrator o, CancellationToken ct)
    {
        var status = (FleetManager.FleetStatus)await o.AskAsync(o.FleetAsync(ct), r => new FleetManager.GetFleetStatus(r), ct);
        return Results.Ok(status.Vms.OrderBy(v => v.VmId, StringComparer.Ordinal).Select(v => VmView.From(v, withCommands: false)).ToList());
    }

    private static async Task<IResult> GetAsync(string id, Orchestrator o, CancellationToken ct)
    {
        using var _ = LogContext.PushProperty("VmId", id);
        return await o.AskAsync(o.FleetAsync(ct), r => new Vm.GetStatus(id, r), ct) switch
        {
            Vm.Status s => Results.Ok(VmView.From(s, withCommands: true)),
            FleetManager.UnknownVm u => ApiProblems.NotFound("id", $"no VM '{u.VmId}' on this node"),
            var other => throw new InvalidOperationException($"unexpected reply {other.GetType().Name}"),
        };
    }

    private static async Task<IResult> ExecuteAsync(string id, string command, HttpRequest request, Orchestrator o, CancellationToken ct)
    {
        using var _ = LogContext.PushProperty("VmId", id);
        var descriptor = QgaCommands.All.FirstOrDefault(c => c.Name == command)
            ?? throw ApiProblemException.NotFound("command", $"'{command}' is not a command of the qga schema");
        if (SagaOnlyCommands.Contains(command))
            throw ApiProblemException.Invalid("command", $"{command} is only sent by a freeze-snapshot-thaw saga (POST /sagas/freeze-snapshot-thaw), which always thaws");
        TimeSpan? timeout = null;
        if (request.Query.TryGetValue("timeout", out var t))
        {
            if (!Core.Hosting.DurationText.TryParse(t, out var parsed) || parsed <= TimeSpan.Zero || parsed > MaxCommandTimeout)
                throw ApiProblemException.Invalid("timeout", $"expected a duration between 1ms and {MaxCommandTimeout.TotalMinutes:0}m such as 5s");
            timeout = parsed;
        }
        var body = await JsonBody.ReadAsync(request, ct);
        JsonElement? arguments = body.IsEmpty ? null : body.Root;
        if (ArgumentValidator.Validate(descriptor.Arguments, arguments) is { } problem)
            throw ApiProblemException.Invalid(ParameterName(problem) ?? "body", problem);

        var effective = timeout ?? new Vm.Settings().Guest.TimeoutFor(command);
        var requestId = "api-" + Guid.NewGuid().ToString("N")[..12];
        var reply = await o.AskAsync(o.FleetAsync(ct), r => new Vm.Execute(id, descriptor, arguments, requestId, r, timeout), ct,
            effective + o.Options.AskTimeout);
        return reply switch
        {
            FleetManager.UnknownVm u => ApiProblems.NotFound("id", $"no VM '{u.VmId}' on this node"),
            Vm.Executed { Failure: { } f } => f.Kind switch
            {
                Vm.FailureKind.Timeout => ApiProblems.Timeout($"{command} on {id}: {f.Reason}"),
                Vm.FailureKind.Unreachable => ApiProblems.Unavailable($"{command} on {id}: {f.Reason}"),
                Vm.FailureKind.ChannelBroken => ApiProblems.Create(StatusCodes.Status502BadGateway, "channel-broken", "The agent channel broke", $"{command} on {id}: {f.Reason}"),
                _ => ApiProblems.Conflict($"{command} on {id} was refused: {f.Reason}"),
            },
            Vm.Executed { Error: { } e } => ApiProblems.GuestError(e.Class, e.Desc),
            Vm.Executed ok => Results.Ok(new CommandResultView(id, command, ok.Return)),
            var other => throw new InvalidOperationException($"unexpected reply {other.GetType().Name}"),
        };
    }

    /// <summary>The member a validator message is about, its first quoted name: "Parameter 'mountpoints[1]' ..." → mountpoints[1].</summary>
    public static string? ParameterName(string message) => Parameter().Match(message) is { Success: true } m ? m.Groups[1].Value : null;

    [GeneratedRegex("'([^']*)'")]
    private static partial Regex Parameter();
}
