namespace QgaOrchestrator.Host.Tests;

/// <summary>Every endpoint refuses bad input with problem+json naming the field, and nothing starts.</summary>
[Collection(HostCollection.Name)]
public sealed class BadInputSpec(HostFixture fixture)
{
    private RunningHost Host => fixture.Host;

    public static TheoryData<string, string, string?, int, string> Cases => new()
    {
        // commands
        { "POST", "/vms/g1/commands/guest-ping", "{bad", 400, "body" },
        { "POST", "/vms/g1/commands/guest-ping", "[1]", 400, "body" },
        { "POST", "/vms/nope/commands/guest-ping", null, 404, "id" },
        { "POST", "/vms/g1/commands/guest-nope", null, 404, "command" },
        { "POST", "/vms/g1/commands/guest-file-read", "{\"handle\": \"x\"}", 400, "handle" },
        { "POST", "/vms/g1/commands/guest-file-read", "{}", 400, "handle" },
        { "POST", "/vms/g1/commands/guest-ping", "{\"extra\": 1}", 400, "extra" },
        { "POST", "/vms/g1/commands/guest-ping?timeout=0", null, 400, "timeout" },
        { "POST", "/vms/g1/commands/guest-ping?timeout=100000h", null, 400, "timeout" },
        { "POST", "/vms/g1/commands/guest-fsfreeze-freeze", null, 400, "command" },
        { "GET", "/vms/nope", null, 404, "id" },
        // freeze-snapshot-thaw
        { "POST", "/sagas/freeze-snapshot-thaw", "{bad", 400, "body" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{}", 400, "vms" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": []}", 400, "vms" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": \"g1\"}", 400, "vms" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": [\"nope\"]}", 400, "vms[0]" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": [\"g1\", 1]}", 400, "vms[1]" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"selector\": {\"tier\": \"none\"}}", 400, "selector" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"selector\": {}}", 400, "selector" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": [\"g1\"], \"selector\": {\"tier\": \"web\"}}", 400, "vms" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": [\"g1\"], \"mode\": \"magic\"}", 400, "mode" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": [\"g2\"], \"mode\": \"qmp\"}", 400, "mode" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": [\"g1\"], \"mode\": \"command\"}", 400, "mode" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": [\"g1\"], \"mode\": \"external\", \"deadline\": 0}", 400, "deadline" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": [\"g1\"], \"mode\": \"external\", \"deadline\": \"0s\"}", 400, "deadline" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": [\"g1\"], \"mode\": \"external\", \"deadline\": -5}", 400, "deadline" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": [\"g1\"], \"mode\": \"external\", \"deadline\": \"87600h\"}", 400, "deadline" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": [\"g1\"], \"mode\": \"external\", \"deadline\": 315360000}", 400, "deadline" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": [\"g1\"], \"mode\": \"external\", \"deadline\": \"soon\"}", 400, "deadline" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": [\"g1\"], \"mode\": \"external\", \"deadline\": true}", 400, "deadline" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": [\"g1\"], \"mode\": \"external\", \"policy\": \"yolo\"}", 400, "policy" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": [\"g1\"], \"mode\": \"external\", \"name\": \"a b\"}", 400, "name" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": [\"g1\"], \"mode\": \"external\", \"mountpoints\": {\"g2\": [\"/x\"]}}", 400, "mountpoints.g2" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": [\"g1\"], \"mode\": \"external\", \"mountpoints\": {\"g1\": \"/x\"}}", 400, "mountpoints.g1" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": [\"g1\"], \"mode\": \"external\", \"surprise\": 1}", 400, "surprise" },
        { "POST", "/sagas/freeze-snapshot-thaw", "{\"vms\": [\"g1\"], \"mode\": \"external\", \"id\": \"../x\"}", 400, "id" },
        // fstrim
        { "POST", "/sagas/fstrim", "{bad", 400, "body" },
        { "POST", "/sagas/fstrim", "{\"vms\": []}", 400, "vms" },
        { "POST", "/sagas/fstrim", "{\"selector\": {\"tier\": \"none\"}}", 400, "selector" },
        { "POST", "/sagas/fstrim", "{\"vms\": [\"g1\"], \"concurrency\": 0}", 400, "concurrency" },
        { "POST", "/sagas/fstrim", "{\"vms\": [\"g1\"], \"concurrency\": \"2\"}", 400, "concurrency" },
        { "POST", "/sagas/fstrim", "{\"vms\": [\"g1\"], \"minimum\": -1}", 400, "minimum" },
        { "POST", "/sagas/fstrim", "{\"vms\": [\"g1\"], \"x\": 1}", 400, "x" },
        // power sagas: only g2 (no QMP monitor) is ever named, so even a validation bug cannot send a
        // power command: the saga would fail its status check. g1's agent is a real process on this machine.
        { "POST", "/sagas/suspend", "{bad", 400, "body" },
        { "POST", "/sagas/suspend", "{}", 400, "vms" },
        { "POST", "/sagas/suspend", "{\"vms\": []}", 400, "vms" },
        { "POST", "/sagas/suspend", "{\"vms\": [\"nope\"]}", 400, "vms[0]" },
        { "POST", "/sagas/suspend", "{\"vms\": [\"g2\", 1]}", 400, "vms[1]" },
        { "POST", "/sagas/suspend", "{\"selector\": {\"tier\": \"none\"}}", 400, "selector" },
        { "POST", "/sagas/suspend", "{\"vms\": [\"g2\"], \"mode\": \"deep\"}", 400, "mode" },
        { "POST", "/sagas/suspend", "{\"vms\": [\"g2\"], \"mode\": 3}", 400, "mode" },
        { "POST", "/sagas/suspend", "{\"vms\": [\"g2\"], \"timeout\": 0}", 400, "timeout" },
        { "POST", "/sagas/suspend", "{\"vms\": [\"g2\"], \"timeout\": \"87600h\"}", 400, "timeout" },
        { "POST", "/sagas/suspend", "{\"vms\": [\"g2\"], \"timeout\": \"soon\"}", 400, "timeout" },
        { "POST", "/sagas/suspend", "{\"vms\": [\"g2\"], \"policy\": \"yolo\"}", 400, "policy" },
        { "POST", "/sagas/suspend", "{\"vms\": [\"g2\"], \"grace\": \"5s\"}", 400, "grace" },
        { "POST", "/sagas/suspend", "{\"vms\": [\"g2\"], \"id\": \"../x\"}", 400, "id" },
        { "POST", "/sagas/resume", "{bad", 400, "body" },
        { "POST", "/sagas/resume", "{\"vms\": []}", 400, "vms" },
        { "POST", "/sagas/resume", "{\"vms\": [\"nope\"]}", 400, "vms[0]" },
        { "POST", "/sagas/resume", "{\"selector\": {}}", 400, "selector" },
        { "POST", "/sagas/resume", "{\"vms\": [\"g2\"], \"timeout\": \"0s\"}", 400, "timeout" },
        { "POST", "/sagas/resume", "{\"vms\": [\"g2\"], \"timeout\": 315360000}", 400, "timeout" },
        { "POST", "/sagas/resume", "{\"vms\": [\"g2\"], \"mode\": \"ram\"}", 400, "mode" },
        { "POST", "/sagas/shutdown", "{bad", 400, "body" },
        { "POST", "/sagas/shutdown", "[]", 400, "body" },
        { "POST", "/sagas/shutdown", "{\"vms\": []}", 400, "vms" },
        { "POST", "/sagas/shutdown", "{\"vms\": [\"nope\"]}", 400, "vms[0]" },
        { "POST", "/sagas/shutdown", "{\"vms\": [\"g2\"], \"selector\": {\"tier\": \"db\"}}", 400, "vms" },
        { "POST", "/sagas/shutdown", "{\"selector\": {\"tier\": \"none\"}}", 400, "selector" },
        { "POST", "/sagas/shutdown", "{\"vms\": [\"g2\"], \"mode\": \"poweroff\"}", 400, "mode" },
        { "POST", "/sagas/shutdown", "{\"vms\": [\"g2\"], \"grace\": 0}", 400, "grace" },
        { "POST", "/sagas/shutdown", "{\"vms\": [\"g2\"], \"grace\": -1}", 400, "grace" },
        { "POST", "/sagas/shutdown", "{\"vms\": [\"g2\"], \"grace\": \"100000h\"}", 400, "grace" },
        { "POST", "/sagas/shutdown", "{\"vms\": [\"g2\"], \"fallback\": \"yes\"}", 400, "fallback" },
        { "POST", "/sagas/shutdown", "{\"vms\": [\"g2\"], \"mode\": \"reboot\", \"fallback\": true}", 400, "fallback" },
        { "POST", "/sagas/shutdown", "{\"vms\": [\"g2\"], \"timeout\": \"5s\"}", 400, "timeout" },
        // one saga
        { "GET", "/sagas/nope", null, 404, "id" },
        { "GET", "/sagas/nope/events", null, 404, "id" },
        { "POST", "/sagas/nope/snapshot-done", null, 404, "id" },
        { "POST", "/sagas/nope/snapshot-done", "{bad", 400, "body" },
        { "POST", "/sagas/nope/snapshot-done", "{\"error\": 3}", 400, "error" },
        { "POST", "/sagas/nope/abort", null, 404, "id" },
        { "POST", "/sagas/nope/abort", "{\"reason\": 5}", 400, "reason" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Endpoint_must_refuse_bad_input_with_a_problem_naming_the_field_and_start_nothing(string method, string path, string? body, int status, string field)
    {
        var before = (await Host.GetAsync("/sagas")).Body.GetArrayLength();

        var (got, problem, type) = await Host.SendAsync(new HttpMethod(method), path, body);

        Assert.Equal(status, got);
        Assert.Equal("application/problem+json", type);
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.StartsWith("urn:qgaorch:problem:", problem.GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out var messages), $"errors names no '{field}': {errors}");
        Assert.NotEqual(0, messages.GetArrayLength());
        Assert.Equal(before, (await Host.GetAsync("/sagas")).Body.GetArrayLength());
    }
}
