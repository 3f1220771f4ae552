using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace QgaAgent.Tests;

/// <summary>
/// The same request script against Debian's qemu-ga 7.2 and the published qga-agent, both in
/// unix-listen mode with the dangerous commands blocked, compared reply by reply.
/// Known, intended differences (also in agent/README.md): guest-info version and command list
/// (qemu-ga has more commands), volatile values (time), and a new client on a listening socket
/// starts with a fresh parser in qga-agent.
/// </summary>
public sealed class ConformanceSpec
{
    private static List<string> RunScript(string binary, Func<string, string[]> script)
    {
        var dir = Directory.CreateTempSubdirectory("qga-conf").FullName;
        try
        {
            using var agent = new AgentProcess(binary, dir, "-b", AgentProcess.Blocked);
            using var c = agent.Connect();
            var replies = new List<string>();
            foreach (var step in script(dir))
            {
                if (step.StartsWith("SPLIT:", StringComparison.Ordinal))
                {
                    foreach (var b in Encoding.UTF8.GetBytes(step[6..])) c.Send([b]);
                    replies.Add(c.ReadLine());
                }
                else if (step.StartsWith("SENTINEL:", StringComparison.Ordinal))
                {
                    c.Send([0xFF, .. Encoding.UTF8.GetBytes(step[9..])]);
                    replies.Add(c.ReadLine());
                    replies.Add(c.ReadLine());
                }
                else if (step.StartsWith("TWO:", StringComparison.Ordinal))
                {
                    c.Send(step[4..] + step[4..]);
                    replies.Add(c.ReadLine());
                    replies.Add(c.ReadLine());
                }
                else replies.Add(c.Call(step));
            }
            return replies.Select(r => r.Replace(dir, "DIR", StringComparison.Ordinal)).ToList();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string[] Script(string dir) =>
    [
        "{\"execute\":\"guest-ping\"}",
        "{\"execute\":\"guest-ping\",\"id\":\"abc\"}",
        "{\"execute\":\"guest-ping\",\"id\":{\"a\":[1,2]}}",
        "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1234}}",
        "SENTINEL:{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":99}}",
        "SPLIT:{\"execute\":\"guest-sync\",\"arguments\":{\"id\":5}}",
        "TWO:{\"execute\":\"guest-ping\"}",
        "{\"execute\":\"guest-nope\"}",
        "{\"execute\":\"guest-shutdown\"}",
        "{\"execute\":\"guest-fsfreeze-freeze\"}",
        "[1,2]",
        "{\"execute\":\"guest-ping\",\"arguments\":{\"extra\":1}}",
        "{\"execute\":\"guest-ping\",\"arguments\":[]}",
        "{\"execute\":\"guest-ping\",\"exec-oob\":true}",
        "{\"execute\":1}",
        "{}",
        "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":\"x\"}}",
        "{\"execute\":\"guest-sync\"}",
        "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":18446744073709551615}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":5}}",
        $"{{\"execute\":\"guest-file-open\",\"arguments\":{{\"path\":\"{dir}/f\",\"mode\":\"w+\"}}}}",
        "{\"execute\":\"guest-file-write\",\"arguments\":{\"handle\":1000,\"buf-b64\":\"aGVsbG8=\"}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1000}}",
        "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":1000,\"offset\":0,\"whence\":\"set\"}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1000,\"count\":0}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1000,\"count\":5}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1000,\"count\":5}}",
        "{\"execute\":\"guest-file-write\",\"arguments\":{\"handle\":1000,\"buf-b64\":\"aGVsbG8\"}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1000,\"count\":-1}}",
        "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1000,\"count\":50331649}}",
        "{\"execute\":\"guest-file-write\",\"arguments\":{\"handle\":1000,\"buf-b64\":\"!!!\"}}",
        "{\"execute\":\"guest-file-write\",\"arguments\":{\"handle\":1000,\"buf-b64\":\"aGVsbG8=\",\"count\":9}}",
        "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":1000,\"offset\":0,\"whence\":7}}",
        "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":1000,\"offset\":-5,\"whence\":0}}",
        "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":1000,\"offset\":2,\"whence\":\"end\"}}",
        "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":1000,\"offset\":2,\"whence\":\"bogus\"}}",
        "{\"execute\":\"guest-file-flush\",\"arguments\":{\"handle\":1000}}",
        "{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":1000}}",
        "{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":1000}}",
        $"{{\"execute\":\"guest-file-open\",\"arguments\":{{\"path\":\"{dir}/f\",\"mode\":\"rw\"}}}}",
        $"{{\"execute\":\"guest-file-open\",\"arguments\":{{\"path\":\"{dir}/missing\"}}}}",
        $"{{\"execute\":\"guest-file-open\",\"arguments\":{{\"path\":\"{dir}/f\",\"mode\":\"r\"}}}}",
        "{\"execute\":\"guest-file-write\",\"arguments\":{\"handle\":1001,\"buf-b64\":\"aGVsbG8=\"}}",
        "{\"execute\":\"guest-fsfreeze-status\"}",
        "{\"execute\":\"guest-get-host-name\"}",
        "{\"execute\":\"guest-get-osinfo\"}",
    ];

    [AgentBinaryFact(needsQemuGa: true)]
    public void Agent_must_answer_like_qemu_ga_reply_by_reply()
    {
        var expected = RunScript("/usr/sbin/qemu-ga", Script);
        var actual = RunScript(AgentProcess.AgentBin, Script);
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++) Assert.Equal(expected[i], actual[i]);
    }

    /// <summary>Both agents up at once (same -b list), so host state read by each is as close in time as possible.</summary>
    private static (string QemuGa, string Agent) AskBoth(string request)
    {
        var qDir = Directory.CreateTempSubdirectory("qga-conf-q").FullName;
        var aDir = Directory.CreateTempSubdirectory("qga-conf-a").FullName;
        try
        {
            using var q = new AgentProcess("/usr/sbin/qemu-ga", qDir, "-b", AgentProcess.Blocked);
            using var a = new AgentProcess(AgentProcess.AgentBin, aDir, "-b", AgentProcess.Blocked);
            using var qc = q.Connect();
            using var ac = a.Connect();
            return (qc.Call(request), ac.Call(request));
        }
        finally
        {
            Directory.Delete(qDir, recursive: true);
            Directory.Delete(aDir, recursive: true);
        }
    }

    private static JsonArray ReturnArray(string reply) => JsonNode.Parse(reply)!["return"]!.AsArray();

    [AgentBinaryFact(needsQemuGa: true)]
    public void Agent_must_list_network_interfaces_like_qemu_ga()
    {
        var (q, a) = AskBoth("{\"execute\":\"guest-network-get-interfaces\"}");
        // Names, order, MAC, addresses, prefixes and member order must match; counters move, so only their keys count.
        static string Shape(string reply)
        {
            var list = ReturnArray(reply);
            foreach (var nic in list)
            {
                if (nic!["statistics"] is JsonObject stats)
                    foreach (var key in stats.Select(p => p.Key).ToList()) stats[key] = 0;
            }
            return list.ToJsonString();
        }
        Assert.Equal(Shape(q), Shape(a));
        Assert.Contains("\"name\":\"lo\"", Shape(a), StringComparison.Ordinal);
    }

    [AgentBinaryFact(needsQemuGa: true)]
    public void Agent_must_report_filesystems_like_qemu_ga()
    {
        var (q, a) = AskBoth("{\"execute\":\"guest-get-fsinfo\"}");
        // used-bytes moves; other sessions' scratch loop mounts may come and go between the two calls.
        static Dictionary<string, string> ByMountpoint(string reply) => ReturnArray(reply).ToDictionary(
            fs => (string)fs!["mountpoint"]!,
            fs => { fs!.AsObject()["used-bytes"] = 0; return fs.ToJsonString(); });
        var expected = ByMountpoint(q);
        var actual = ByMountpoint(a);
        Assert.Contains("/", (IDictionary<string, string>)expected);
        static bool Stable(KeyValuePair<string, string> fs) => !fs.Value.Contains("\"name\":\"loop", StringComparison.Ordinal);
        Assert.Equal(expected.Where(Stable).Select(fs => fs.Key).Order(), actual.Where(Stable).Select(fs => fs.Key).Order());
        foreach (var (mountpoint, fs) in actual)
        {
            if (expected.TryGetValue(mountpoint, out var reference)) Assert.Equal(reference, fs);
        }
    }

    [AgentBinaryFact(needsQemuGa: true)]
    public void Agent_must_describe_the_commands_it_shares_with_qemu_ga_like_qemu_ga()
    {
        var (q, a) = AskBoth("{\"execute\":\"guest-info\"}");
        static Dictionary<string, string> Commands(string reply) =>
            JsonNode.Parse(reply)!["return"]!["supported_commands"]!.AsArray().ToDictionary(c => (string)c!["name"]!, c => c!.ToJsonString());
        var reference = Commands(q);
        var ours = Commands(a);
        Assert.Equal(QgaOrchestrator.Protocol.Qga.QgaCommands.All.Select(c => c.Name).Order(), ours.Keys.Order());
        Assert.Contains(ours.Values, c => c.Contains("\"enabled\":false", StringComparison.Ordinal)); // the -b list shows
        Assert.Contains(ours.Values, c => c.Contains("\"success-response\":false", StringComparison.Ordinal));
        foreach (var (name, entry) in ours) Assert.Equal(reference[name], entry);
        Assert.Equal(JsonValueKind.String, JsonDocument.Parse(a).RootElement.GetProperty("return").GetProperty("version").ValueKind);
    }

    // Client A leaves half a request behind; client B's 0xFF + guest-sync-delimited gets the parse
    // error and then the delimited sync reply from both. (qemu-ga's stray text includes A's leftover.)
    [AgentBinaryFact(needsQemuGa: true)]
    public void Agent_must_resync_a_client_after_the_previous_one_left_half_a_request()
    {
        static (string Error, string Sync) Run(string binary)
        {
            var dir = Directory.CreateTempSubdirectory("qga-conf-ff").FullName;
            try
            {
                using var agent = new AgentProcess(binary, dir);
                using (var first = agent.Connect())
                {
                    first.Send("{\"execute\":\"guest-ping\",\"arguments\":{\"a\":[1,");
                    // Both agents accept B only after reading A's bytes and its EOF.
                }
                using var second = agent.Connect();
                second.Send([0xFF, .. Encoding.UTF8.GetBytes("{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":77}}")]);
                return (second.ReadLine(), second.ReadLine());
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        var expected = Run("/usr/sbin/qemu-ga");
        var actual = Run(AgentProcess.AgentBin);
        Assert.Equal("\u00ff{\"return\": 77}", expected.Sync);
        Assert.Equal(expected.Sync, actual.Sync);
        Assert.Equal(expected.Error, actual.Error);
    }
}
