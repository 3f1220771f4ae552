using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using QgaOrchestrator.Core.Hosting;
using QgaOrchestrator.Core.Sagas;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Host.Configuration;
using Serilog.Context;

namespace QgaOrchestrator.Host.Api;

/// <summary>
/// <c>/sagas</c>: start a freeze-snapshot-thaw, fstrim or power (suspend, resume, shutdown; <see cref="PowerSagaEndpoints"/>) saga on a group of VMs, list and follow them,
/// and drive an external-mode saga (snapshot-done, abort). Every input is checked before anything
/// starts: a bad request never leaves a saga behind.
/// </summary>
public static class SagaEndpoints
{
    public const int MaxTrimConcurrency = 64;

    public static void MapSagaEndpoints(this IEndpointRouteBuilder app)
    {
        var sagas = app.MapGroup("/sagas").WithTags("sagas");
        sagas.MapPost("/freeze-snapshot-thaw", StartFreezeAsync)
            .WithSummary("Freeze a group (vms or selector), snapshot it (mode qmp|command|external), thaw it; body: {vms|selector, mode, deadline, name, policy, mountpoints, id}")
            .Accepts<FreezeRequestDoc>("application/json").Produces<SagaView>(202).ProducesProblem(400).ProducesProblem(409);
        sagas.MapPost("/fstrim", StartTrimAsync)
            .WithSummary("guest-fstrim on a group with a concurrency limit; body: {vms|selector, concurrency, minimum, id}")
            .Accepts<TrimRequestDoc>("application/json").Produces<SagaView>(202).ProducesProblem(400);
        sagas.MapPowerEndpoints();
        sagas.MapGet("/", ListAsync).WithSummary("Every saga of this node, oldest first").Produces<SagaSummaryView[]>();
        sagas.MapGet("/{id}", GetAsync).WithSummary("One saga with each VM's timeline").Produces<SagaView>().ProducesProblem(404);
        sagas.MapPost("/{id}/snapshot-done", SnapshotDoneAsync)
            .WithSummary("External mode: your snapshot is done (body {error} if it failed); the saga thaws")
            .Produces<SagaView>(202).ProducesProblem(404).ProducesProblem(409);
        sagas.MapPost("/{id}/abort", AbortAsync).WithSummary("Abort a running saga (body {reason}); a freeze thaws whatever may be frozen, a power saga stops waiting (unsent VMs skipped)")
            .Produces<SagaView>(202).ProducesProblem(404).ProducesProblem(409);
        sagas.MapGet("/{id}/events", SagaEventStream.StreamAsync).WithSummary("Server-sent events: state, then progress per journaled event, then end")
            .Produces(200, contentType: "text/event-stream").ProducesProblem(404);
    }

    /// <summary>Documents the body of POST /sagas/freeze-snapshot-thaw (the handler reads it field by field).</summary>
    public sealed record FreezeRequestDoc(
        IReadOnlyList<string>? Vms, IReadOnlyDictionary<string, string>? Selector, string? Mode, string? Deadline, string? Name,
        string? Policy, IReadOnlyDictionary<string, IReadOnlyList<string>>? Mountpoints, string? Id);

    /// <summary>Documents the body of POST /sagas/fstrim.</summary>
    public sealed record TrimRequestDoc(IReadOnlyList<string>? Vms, IReadOnlyDictionary<string, string>? Selector, int? Concurrency, long? Minimum, string? Id);

    private static async Task<IResult> StartFreezeAsync(HttpRequest request, Orchestrator o, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync(request, ct);
        var options = o.Options;
        var configs = await o.ConfigsAsync(ct);
        var group = SelectGroup(body, configs);
        var modeText = body.String("mode");
        var mode = modeText is null ? options.DefaultSnapshotMode
            : ConfigLoader.ParseMode(modeText, "mode") ?? throw ApiProblemException.Invalid("mode", $"unknown snapshot mode '{modeText}' (expected qmp, command or external)");
        CheckModeFits(mode, group, configs, options);
        var deadline = body.Duration("deadline") ?? options.DefaultDeadline;
        if (deadline <= TimeSpan.Zero || deadline > options.MaxDeadline)
            throw ApiProblemException.Invalid("deadline", $"must be more than 0 and at most {DurationText.Format(options.MaxDeadline)} (the agents self-thaw after their own deadline)");
        var name = body.String("name") ?? "snap-" + DateTimeOffset.UtcNow.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture);
        CheckName("name", name);
        var policyText = body.String("policy");
        var policy = policyText switch
        {
            null or "fail-group" => UnavailablePolicy.FailGroup,
            "skip-crash-consistent" => UnavailablePolicy.SkipCrashConsistent,
            _ => throw ApiProblemException.Invalid("policy", $"unknown policy '{policyText}' (expected fail-group or skip-crash-consistent)"),
        };
        var mountpoints = body.StringListMap("mountpoints");
        foreach (var vm in mountpoints?.Keys ?? [])
            if (!group.Contains(vm)) throw ApiProblemException.Invalid($"mountpoints.{vm}", "names a VM that is not in the group");
        var id = SagaId(body, "snap");
        body.RejectUnknownMembers();

        using var _ = LogContext.PushProperty("SagaId", id);
        return await StartThroughManagerAsync(o, id, deadline + TimeSpan.FromMinutes(1), replyTo => new SagaManager.StartFreeze(id, mode, name, replyTo,
            VmIds: group, Deadline: deadline, Policy: policy, Mountpoints: mountpoints), ct);
    }

    /// <summary>
    /// Tells the saga manager a Start* whose ReplyTo is a one-off actor, and answers 202 once the saga is
    /// journaled (Started), 409 for a used id, 400 for another refusal. <paramref name="lifetime"/> bounds
    /// how long that actor waits for the saga's Finished.
    /// </summary>
    public static async Task<IResult> StartThroughManagerAsync(Orchestrator o, string id, TimeSpan lifetime, Func<Akka.Actor.IActorRef, object> start, CancellationToken ct)
    {
        var started = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
        var replyTo = o.System.ActorOf(Internal.SagaStartReplyActor.Props(started, lifetime));
        (await o.SagasAsync(ct)).Tell(start(replyTo), Akka.Actor.ActorRefs.NoSender);
        object reply;
        try
        {
            reply = await started.Task.WaitAsync(o.Options.AskTimeout, ct);
        }
        catch (TimeoutException)
        {
            throw new Akka.Actor.AskTimeoutException($"saga {id} was not confirmed within {DurationText.Format(o.Options.AskTimeout)}");
        }
        return reply switch
        {
            FreezeSnapshotThaw.Started or PowerSaga.Started => Results.Accepted($"/sagas/{id}", await ViewAsync(o, id, ct)),
            SagaManager.Rejected r when r.Reason.Contains("already used", StringComparison.Ordinal) => ApiProblems.Conflict($"saga id '{id}' is already used"),
            SagaManager.Rejected r => ApiProblems.Invalid("vms", r.Reason),
            var other => throw new InvalidOperationException($"unexpected reply {other.GetType().Name}"),
        };
    }

    private static async Task<IResult> StartTrimAsync(HttpRequest request, Orchestrator o, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync(request, ct);
        var group = SelectGroup(body, await o.ConfigsAsync(ct));
        var concurrency = (int)(body.Integer("concurrency", 1, MaxTrimConcurrency) ?? 2);
        var minimum = body.Integer("minimum", 0, long.MaxValue);
        var id = SagaId(body, "trim");
        body.RejectUnknownMembers();
        using var _ = LogContext.PushProperty("SagaId", id);
        return await o.AskAsync(o.TrimsAsync(ct), r => new TrimManager.StartTrim(id, group, concurrency, minimum, r), ct) switch
        {
            TrimManager.TrimAccepted => Results.Accepted($"/sagas/{id}", await ViewAsync(o, id, ct)),
            TrimManager.TrimRejected r => ApiProblems.Conflict(r.Reason),
            var other => throw new InvalidOperationException($"unexpected reply {other.GetType().Name}"),
        };
    }

    private static async Task<IResult> ListAsync(Orchestrator o, CancellationToken ct)
    {
        var freezes = (SagaManager.SagaList)await o.AskAsync(o.SagasAsync(ct), r => new SagaManager.ListSagas(r), ct);
        var trims = (TrimManager.TrimList)await o.AskAsync(o.TrimsAsync(ct), r => new TrimManager.ListTrims(r), ct);
        var all = freezes.Sagas.Select(s => new SagaSummaryView(s.SagaId, SagaKinds.Of(s.Kind), s.RegisteredAt, s.Outcome is { } x ? SagaView.Kebab(x.ToString()) : null))
            .Concat(trims.Trims.Select(t => SagaView.From(t) is var v ? new SagaSummaryView(t.SagaId, SagaKinds.Fstrim, t.StartedAt, v.Outcome) : null!))
            .OrderBy(s => s.RegisteredAt).ToList();
        return Results.Ok(all);
    }

    private static async Task<IResult> GetAsync(string id, Orchestrator o, CancellationToken ct) =>
        Results.Ok(await ViewAsync(o, id, ct));

    private static async Task<IResult> SnapshotDoneAsync(string id, HttpRequest request, Orchestrator o, CancellationToken ct)
    {
        using var _ = LogContext.PushProperty("SagaId", id);
        var body = await JsonBody.ReadAsync(request, ct);
        var error = body.String("error");
        body.RejectUnknownMembers();
        var view = await ViewAsync(o, id, ct);
        if (!view.AwaitingSnapshot)
            throw ApiProblemException.Conflict(view.Ended ? $"saga {id} has already ended ({view.Outcome})"
                : $"saga {id} is not waiting for an external snapshot (mode {view.Mode ?? view.Kind}, phase {view.Phase})");
        (await o.SagasAsync(ct)).Tell(new SagaManager.SnapshotDone(id, error), Akka.Actor.ActorRefs.NoSender);
        return Results.Accepted($"/sagas/{id}", view);
    }

    private static async Task<IResult> AbortAsync(string id, HttpRequest request, Orchestrator o, CancellationToken ct)
    {
        using var _ = LogContext.PushProperty("SagaId", id);
        var body = await JsonBody.ReadAsync(request, ct);
        var reason = body.String("reason") ?? "aborted through the API";
        body.RejectUnknownMembers();
        var view = await ViewAsync(o, id, ct);
        if (view.Ended) throw ApiProblemException.Conflict($"saga {id} has already ended ({view.Outcome})");
        if (view.Kind == SagaKinds.Fstrim) throw ApiProblemException.Conflict($"a {view.Kind} saga cannot be aborted (it holds nothing)");
        (await o.SagasAsync(ct)).Tell(new SagaManager.Abort(id, reason), Akka.Actor.ActorRefs.NoSender);
        return Results.Accepted($"/sagas/{id}", view);
    }

    /// <summary>The saga of any kind, or a 404 problem.</summary>
    public static async Task<SagaView> ViewAsync(Orchestrator o, string id, CancellationToken ct)
    {
        if (await o.AskAsync(o.TrimsAsync(ct), r => new TrimManager.GetTrim(id, r), ct) is TrimManager.TrimSummary trim)
            return SagaView.From(trim);
        return await o.AskAsync(o.SagasAsync(ct), r => new SagaManager.GetSaga(id, r), ct) switch
        {
            FreezeSnapshotThaw.CurrentState s => SagaView.From(s.State),
            PowerSaga.CurrentState p => SagaView.From(p.State),
            SagaManager.UnknownSaga => throw ApiProblemException.NotFound("id", $"no saga '{id}'"),
            var other => throw new InvalidOperationException($"unexpected reply {other.GetType().Name}"),
        };
    }

    /// <summary>Exactly one of "vms" (known ids) or "selector" (labels that match at least one VM).</summary>
    public static IReadOnlyList<string> SelectGroup(JsonBody body, IReadOnlyList<VmConfig> configs)
    {
        var vms = body.StringList("vms");
        var selector = body.StringMap("selector");
        if ((vms is null) == (selector is null))
            throw ApiProblemException.Invalid("vms", "give either \"vms\" (a list of VM ids) or \"selector\" (labels), not both or neither");
        var known = configs.ToDictionary(c => c.Id, StringComparer.Ordinal);
        if (vms is not null)
        {
            if (vms.Count == 0) throw ApiProblemException.Invalid("vms", "the group is empty");
            for (int i = 0; i < vms.Count; i++)
                if (!known.ContainsKey(vms[i])) throw ApiProblemException.Invalid($"vms[{i}]", $"no VM '{vms[i]}' on this node");
            return vms.Distinct(StringComparer.Ordinal).ToList();
        }
        if (selector!.Count == 0) throw ApiProblemException.Invalid("selector", "the selector is empty");
        var selected = configs.Where(c => selector.All(l => c.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).Select(c => c.Id).ToList();
        if (selected.Count == 0)
            throw ApiProblemException.Invalid("selector", $"selects no VM ({string.Join(",", selector.Select(l => l.Key + "=" + l.Value))})");
        return selected;
    }

    private static void CheckModeFits(SnapshotMode mode, IReadOnlyList<string> group, IReadOnlyList<VmConfig> configs, OrchestratorOptions options)
    {
        if (mode == SnapshotMode.Command && options.SnapshotCommand is null)
            throw ApiProblemException.Invalid("mode", "command snapshots are not configured (Orchestrator:Snapshot:Command)");
        if (mode == SnapshotMode.Qmp)
        {
            var vms = configs.ToDictionary(v => v.Id, StringComparer.Ordinal);
            foreach (var id in group)
                if (vms.TryGetValue(id, out var vm) && (vm.QmpSocket is null || vm.Disks.Count == 0))
                    throw ApiProblemException.Invalid("mode", $"VM '{id}' has no qmpSocket or no disks in the fleet file: qmp snapshots need both");
        }
    }

    public static string SagaId(JsonBody body, string prefix)
    {
        var id = body.String("id") ?? $"{prefix}-{DateTimeOffset.UtcNow:yyyyMMddHHmmss}-{Guid.NewGuid().ToString("N")[..6]}";
        CheckName("id", id);
        return id;
    }

    private static void CheckName(string field, string value)
    {
        if (value.Length is 0 or > 64 || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            throw ApiProblemException.Invalid(field, "1 to 64 letters, digits, '-', '_' or '.'");
    }
}
