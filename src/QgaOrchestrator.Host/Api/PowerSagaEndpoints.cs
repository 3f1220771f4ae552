using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using QgaOrchestrator.Core.Hosting;
using QgaOrchestrator.Core.Sagas;
using Serilog.Context;

namespace QgaOrchestrator.Host.Api;

/// <summary>
/// <c>POST /sagas/suspend</c>, <c>/sagas/resume</c>, <c>/sagas/shutdown</c>: power sagas over a group.
/// Every field is checked (and named in the 400) before the saga manager hears of it; the saga itself
/// then checks each VM (running, agent, QMP, wakeup support) before anything is sent.
/// </summary>
public static class PowerSagaEndpoints
{
    /// <summary>Upper bound of a per-VM timeout or grace: a disk suspend of a big guest takes minutes, never hours.</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromHours(1);

    /// <summary>How long the start's reply actor may wait for Finished beyond the per-VM timeout (checks, fallback's second grace).</summary>
    private static readonly TimeSpan ReplyMargin = TimeSpan.FromMinutes(5);

    public static void MapPowerEndpoints(this RouteGroupBuilder sagas)
    {
        sagas.MapPost("/suspend", SuspendAsync)
            .WithSummary("guest-suspend-* on a group, confirmed by QEMU; body: {vms|selector, mode: ram|disk|hybrid, timeout, policy, id}")
            .Accepts<SuspendRequestDoc>("application/json").Produces<SagaView>(202).ProducesProblem(400).ProducesProblem(409);
        sagas.MapPost("/resume", ResumeAsync)
            .WithSummary("QMP system_wakeup of a suspended group, then the guest channel re-syncs; body: {vms|selector, timeout, policy, id}")
            .Accepts<ResumeRequestDoc>("application/json").Produces<SagaView>(202).ProducesProblem(400).ProducesProblem(409);
        sagas.MapPost("/shutdown", ShutdownAsync)
            .WithSummary("guest-shutdown on a group (fallback: QMP system_powerdown); body: {vms|selector, mode: powerdown|halt|reboot, grace, fallback, policy, id}")
            .Accepts<ShutdownRequestDoc>("application/json").Produces<SagaView>(202).ProducesProblem(400).ProducesProblem(409);
    }

    /// <summary>Documents the body of POST /sagas/suspend (the handler reads it field by field).</summary>
    public sealed record SuspendRequestDoc(IReadOnlyList<string>? Vms, IReadOnlyDictionary<string, string>? Selector, string? Mode, string? Timeout, string? Policy, string? Id);

    /// <summary>Documents the body of POST /sagas/resume.</summary>
    public sealed record ResumeRequestDoc(IReadOnlyList<string>? Vms, IReadOnlyDictionary<string, string>? Selector, string? Timeout, string? Policy, string? Id);

    /// <summary>Documents the body of POST /sagas/shutdown.</summary>
    public sealed record ShutdownRequestDoc(
        IReadOnlyList<string>? Vms, IReadOnlyDictionary<string, string>? Selector, string? Mode, string? Grace, bool? Fallback, string? Policy, string? Id);

    private static async Task<IResult> SuspendAsync(HttpRequest request, Orchestrator o, CancellationToken ct)
    {
        var (body, group) = await GroupAsync(request, o, ct);
        var modeText = body.String("mode");
        var mode = modeText switch
        {
            null or "ram" => SuspendMode.Ram,
            "disk" => SuspendMode.Disk,
            "hybrid" => SuspendMode.Hybrid,
            _ => throw ApiProblemException.Invalid("mode", $"unknown suspend mode '{modeText}' (expected ram, disk or hybrid)"),
        };
        var timeout = Timeout(body, "timeout");
        var policy = Policy(body, PowerGroupPolicy.FailGroup);
        var id = SagaEndpoints.SagaId(body, "suspend");
        body.RejectUnknownMembers();
        var lifetime = (timeout ?? PowerOperations.Of(mode).DefaultTimeout()) + ReplyMargin;
        using var _ = LogContext.PushProperty("SagaId", id);
        return await SagaEndpoints.StartThroughManagerAsync(o, id, lifetime,
            r => new SagaManager.StartSuspend(id, mode, r, VmIds: group, Timeout: timeout, Policy: policy), ct);
    }

    private static async Task<IResult> ResumeAsync(HttpRequest request, Orchestrator o, CancellationToken ct)
    {
        var (body, group) = await GroupAsync(request, o, ct);
        var timeout = Timeout(body, "timeout");
        var policy = Policy(body, PowerGroupPolicy.ContinueOthers);
        var id = SagaEndpoints.SagaId(body, "resume");
        body.RejectUnknownMembers();
        var lifetime = (timeout ?? PowerOperation.Resume.DefaultTimeout()) + ReplyMargin;
        using var _ = LogContext.PushProperty("SagaId", id);
        return await SagaEndpoints.StartThroughManagerAsync(o, id, lifetime,
            r => new SagaManager.StartResume(id, r, VmIds: group, Timeout: timeout, Policy: policy), ct);
    }

    private static async Task<IResult> ShutdownAsync(HttpRequest request, Orchestrator o, CancellationToken ct)
    {
        var (body, group) = await GroupAsync(request, o, ct);
        var modeText = body.String("mode");
        var mode = modeText switch
        {
            null or "powerdown" => ShutdownMode.Powerdown,
            "halt" => ShutdownMode.Halt,
            "reboot" => ShutdownMode.Reboot,
            _ => throw ApiProblemException.Invalid("mode", $"unknown shutdown mode '{modeText}' (expected powerdown, halt or reboot)"),
        };
        var grace = Timeout(body, "grace");
        var fallback = body.Bool("fallback") ?? false;
        if (fallback && !PowerOperations.Of(mode).AllowsFallback())
            throw ApiProblemException.Invalid("fallback", "the system_powerdown fallback applies to powerdown and halt only, not reboot");
        var policy = Policy(body, PowerGroupPolicy.FailGroup);
        var id = SagaEndpoints.SagaId(body, "shutdown");
        body.RejectUnknownMembers();
        var lifetime = 2 * (grace ?? PowerOperations.Of(mode).DefaultTimeout()) + ReplyMargin;
        using var _ = LogContext.PushProperty("SagaId", id);
        return await SagaEndpoints.StartThroughManagerAsync(o, id, lifetime,
            r => new SagaManager.StartShutdown(id, mode, r, VmIds: group, Grace: grace, Fallback: fallback, Policy: policy), ct);
    }

    private static async Task<(JsonBody Body, IReadOnlyList<string> Group)> GroupAsync(HttpRequest request, Orchestrator o, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync(request, ct);
        return (body, SagaEndpoints.SelectGroup(body, await o.ConfigsAsync(ct)));
    }

    /// <summary>Null: the operation's default. Else more than 0 and at most <see cref="MaxTimeout"/>.</summary>
    private static TimeSpan? Timeout(JsonBody body, string field)
    {
        var t = body.Duration(field);
        if (t is { } v && (v <= TimeSpan.Zero || v > MaxTimeout))
            throw ApiProblemException.Invalid(field, $"must be more than 0 and at most {DurationText.Format(MaxTimeout)}");
        return t;
    }

    private static PowerGroupPolicy Policy(JsonBody body, PowerGroupPolicy fallback)
    {
        var text = body.String("policy");
        return text switch
        {
            null => fallback,
            "fail-group" => PowerGroupPolicy.FailGroup,
            "continue-others" => PowerGroupPolicy.ContinueOthers,
            _ => throw ApiProblemException.Invalid("policy", $"unknown policy '{text}' (expected fail-group or continue-others)"),
        };
    }
}
