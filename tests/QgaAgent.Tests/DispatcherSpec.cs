using System.Text;
using QgaAgent.Commands;
using QgaAgent.Commands.Linux;
using QgaAgent.Dispatch;
using QgaAgent.Runtime;
using QgaOrchestrator.Protocol.Qga;

namespace QgaAgent.Tests;

public sealed class DispatcherSpec : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qga-agent-spec").FullName;

    private (Dispatcher Dispatcher, CommandRegistry Registry, FreezeGate Gate) Build(IEnumerable<string>? allow = null, IEnumerable<string>? block = null)
    {
        var gate = new FreezeGate(allow, block ?? []);
        var registry = new CommandRegistry();
        var log = new AgentLog(Path.Combine(_dir, "log"), false);
        var dispatcher = new Dispatcher(registry, gate, log);
        CommonCommands.Register(registry, gate);
        new FileCommands(new AgentState(_dir)).Register(registry);
        return (dispatcher, registry, gate);
    }

    private static string Send(Dispatcher d, string input)
    {
        var output = new ReplyBuffer();
        d.Feed(Encoding.UTF8.GetBytes(input), output);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    [Fact]
    public void Dispatcher_must_answer_ping_with_id_and_sync()
    {
        var (d, _, _) = Build();
        Assert.Equal("{\"return\": {}, \"id\": 1}\n", Send(d, "{\"execute\":\"guest-ping\",\"id\":1}"));
        Assert.Equal("{\"return\": 42}\n", Send(d, "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":42}}"));
    }

    [Fact]
    public void Dispatcher_must_prefix_sync_delimited_reply_with_sentinel()
    {
        var (d, _, _) = Build();
        var reply = Send(d, "{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":7}}");
        var output = new ReplyBuffer();
        d.Feed(Encoding.UTF8.GetBytes("{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":7}}"), output);
        Assert.Equal(0xFF, output.WrittenSpan[0]);
        Assert.EndsWith("{\"return\": 7}\n", reply);
    }

    [Fact]
    public void Dispatcher_must_serve_requests_split_byte_by_byte_and_batched()
    {
        var (d, _, _) = Build();
        var text = "{\"execute\":\"guest-ping\"}";
        var sb = new StringBuilder();
        foreach (var c in text) sb.Append(Send(d, c.ToString()));
        Assert.Equal("{\"return\": {}}\n", sb.ToString());
        Assert.Equal("{\"return\": {}}\n{\"return\": {}}\n", Send(d, text + text));
    }

    [Fact]
    public void Dispatcher_must_give_qemu_errors_for_bad_input_and_keep_serving()
    {
        var (d, _, _) = Build();
        Assert.Contains("QMP input must be a JSON object", Send(d, "[1,2]"));
        Assert.Contains("The command guest-nope has not been found", Send(d, "{\"execute\":\"guest-nope\"}"));
        Assert.Contains("Parameter 'extra' is unexpected", Send(d, "{\"execute\":\"guest-ping\",\"arguments\":{\"extra\":1}}"));
        Assert.Contains("Invalid parameter type for 'id', expected: integer", Send(d, "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":\"x\"}}"));
        Assert.Contains("handle '5' has not been found", Send(d, "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":5}}"));
        Assert.Contains("JSON nesting depth limit exceeded", Send(d, new string('[', 2000)));
        Send(d, "\u0001");
        Assert.Equal("{\"return\": {}}\n", Send(d, "{\"execute\":\"guest-ping\"}"));
    }

    [Fact]
    public void FreezeGate_should_reject_non_allowlisted_commands_while_frozen()
    {
        var (d, _, gate) = Build(block: ["guest-get-time"]);
        Assert.Contains("Command guest-get-time has been disabled", Send(d, "{\"execute\":\"guest-get-time\"}"));
        gate.Frozen = true;
        Assert.Contains("has been disabled", Send(d, "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\"/x\"}}"));
        Assert.Equal("{\"return\": {}}\n", Send(d, "{\"execute\":\"guest-ping\"}"));
        gate.Frozen = false;
        Assert.True(gate.IsAllowed("guest-file-open"));
        var allowOnly = new FreezeGate(["guest-ping"], ["guest-ping"]);
        Assert.False(allowOnly.IsAllowed("guest-ping"));
        Assert.False(allowOnly.IsAllowed("guest-info"));
    }

    [Fact]
    public void FileCommands_must_hand_out_handles_from_1000_and_persist_the_counter()
    {
        var (d, _, _) = Build();
        var path = Path.Combine(_dir, "f");
        Assert.Equal("{\"return\": 1000}\n", Send(d, $"{{\"execute\":\"guest-file-open\",\"arguments\":{{\"path\":\"{path}\",\"mode\":\"w+\"}}}}"));
        Assert.Equal("[global]\nfd_counter=1001\n", File.ReadAllText(Path.Combine(_dir, "qga.state")));
        Assert.Equal("{\"return\": {\"count\": 5, \"eof\": false}}\n", Send(d, "{\"execute\":\"guest-file-write\",\"arguments\":{\"handle\":1000,\"buf-b64\":\"aGVsbG8=\"}}"));
        Assert.Equal("{\"return\": {\"count\": 0, \"buf-b64\": \"\", \"eof\": true}}\n", Send(d, "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1000}}"));
        Assert.Equal("{\"return\": {\"eof\": false, \"position\": 0}}\n", Send(d, "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":1000,\"offset\":0,\"whence\":0}}"));
        Assert.Equal("{\"return\": {\"count\": 5, \"buf-b64\": \"aGVsbG8=\", \"eof\": false}}\n", Send(d, "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1000,\"count\":5}}"));
        Assert.Contains("value '50331649' is invalid for argument count", Send(d, "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":1000,\"count\":50331649}}"));
        Assert.Contains("invalid whence code 7", Send(d, "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":1000,\"offset\":0,\"whence\":7}}"));
        Assert.Equal("{\"return\": {}}\n", Send(d, "{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":1000}}"));
        Assert.Equal(1001, new AgentState(_dir).FdCounter);
    }

    [Fact]
    public void CommandRegistry_must_have_a_handler_for_every_schema_command()
    {
        var host = new AgentHost(new AgentOptions { Method = "unix-listen", Path = Path.Combine(_dir, "s"), StateDir = _dir });
        Assert.Empty(host.Registry.Missing());
        Assert.Equal(QgaOrchestrator.Protocol.Qga.QgaCommands.All.Count, host.Registry.Commands.Count());
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}

public sealed class OptionsParserSpec
{
    [Fact]
    public void OptionsParser_must_read_qemu_ga_flags_and_config()
    {
        var conf = "[general]\nmethod=unix-listen\npath=/tmp/y\nblock-rpcs=guest-ping;guest-info\nverbose=true\n";
        var (o, action) = OptionsParser.Parse(["-c", "/c.conf", "-p", "/tmp/z", "-F/h", "-r", "--freeze-timeout=2", "--fsfreeze-mountpoints=/a,/b"],
            _ => null, p => p == "/c.conf" ? conf : null);
        Assert.Equal(AgentAction.Run, action);
        Assert.Equal("unix-listen", o.Method);
        Assert.Equal("/tmp/z", o.Path);
        Assert.Equal("/h", o.FsfreezeHook);
        Assert.True(o.RetryPath && o.Verbose);
        Assert.Equal(["guest-ping", "guest-info"], o.BlockRpcs);
        Assert.Equal(2, o.FreezeTimeoutSeconds);
        Assert.Equal(["/a", "/b"], o.FsfreezeMountpoints!);
        Assert.Contains("block-rpcs=guest-ping;guest-info", o.DumpConfig());
        var (bare, _) = OptionsParser.Parse(["-F", "-m", "unix-listen", "-p", "/s"], _ => null, _ => null);
        Assert.Equal(AgentOptions.DefaultHook, bare.FsfreezeHook);
        Assert.Throws<OptionsException>(() => OptionsParser.Parse(["-x"], _ => null, _ => null));
        Assert.Throws<OptionsException>(() => OptionsParser.Parse(["-m", "unix-listen"], _ => null, _ => null));
    }

    [Fact]
    public void MountInfo_must_parse_in_file_order_and_skip_virtual_filesystems()
    {
        var text = "22 1 0:21 / /proc rw - proc proc rw\n" +
                   "29 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n" +
                   "40 29 7:3 / /mnt/a\\040b rw - ext4 /dev/loop3 rw\n";
        var mounts = MountInfo.Parse(text);
        Assert.Equal(["/", "/mnt/a b"], mounts.Select(m => m.Dir));
        Assert.Equal((7u, 3u), (mounts[1].Major, mounts[1].Minor));
    }
}
