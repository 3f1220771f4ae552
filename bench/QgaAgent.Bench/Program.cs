// Side-by-side harness: Debian's qemu-ga and qga-agent on unix sockets in temp dirs, same machine.
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

var agentBin = Environment.GetEnvironmentVariable("QGA_AGENT_BIN") ?? "/work/main/artifacts/bin/qga-agent";
var peers = new[] { ("qemu-ga", "/usr/sbin/qemu-ga"), ("qga-agent", agentBin) };
var results = new Dictionary<string, double[]>();
var dataDir = Directory.CreateTempSubdirectory("qga-bench-data").FullName;
var bigFile = Path.Combine(dataDir, "big");
using (var f = File.Create(bigFile))
{
    var chunk = new byte[1 << 20];
    new Random(1).NextBytes(chunk);
    for (int i = 0; i < 256; i++) f.Write(chunk);
}
try
{
    foreach (var (name, bin) in peers)
    {
        var startMs = new List<double>();
        for (int i = 0; i < 10; i++)
        {
            using var a = new Agent(bin);
            startMs.Add(a.StartToFirstReplyMs);
        }
        startMs.Sort();
        using var agent = new Agent(bin);
        double idleRss = agent.Status("VmRSS:");
        for (int i = 0; i < 2000; i++) agent.Call("{\"execute\":\"guest-ping\"}");
        const int pings = 20000;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < pings; i++) agent.Call("{\"execute\":\"guest-ping\"}");
        double rps = pings / sw.Elapsed.TotalSeconds;
        var handle = agent.Call($"{{\"execute\":\"guest-file-open\",\"arguments\":{{\"path\":\"{bigFile}\"}}}}");
        var h = handle[(handle.IndexOf(':') + 2)..handle.IndexOf('}')];
        sw.Restart();
        long total = 0;
        while (true)
        {
            var reply = agent.Call($"{{\"execute\":\"guest-file-read\",\"arguments\":{{\"handle\":{h},\"count\":50331648}}}}");
            int c = reply.IndexOf("\"count\": ", StringComparison.Ordinal) + 9;
            long n = long.Parse(reply.AsSpan(c, reply.IndexOf(',', c) - c), CultureInfo.InvariantCulture);
            total += n;
            if (n == 0) break;
        }
        double mibs = total / 1048576.0 / sw.Elapsed.TotalSeconds;
        results[name] = [rps, mibs, agent.Status("VmHWM:") / 1024, idleRss / 1024, startMs[5]];
    }
}
finally
{
    Directory.Delete(dataDir, recursive: true);
}
string[] rows = ["ping round trips/s", "file-read 256 MiB MiB/s", "peak RSS MiB (VmHWM)", "idle RSS MiB", "start→first reply ms (median)"];
Console.WriteLine($"{"metric",-32}{"qemu-ga",14}{"qga-agent",14}{"ratio",10}");
for (int i = 0; i < rows.Length; i++)
{
    double q = results["qemu-ga"][i], o = results["qga-agent"][i];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rows[i],-32}{q,14:F1}{o,14:F1}{o / q,10:F2}"));
}

sealed class Agent : IDisposable
{
    private const string Blocked = "guest-shutdown,guest-suspend-disk,guest-suspend-ram,guest-suspend-hybrid,guest-fsfreeze-freeze,guest-fsfreeze-freeze-list,guest-fsfreeze-thaw,guest-fstrim,guest-set-time,guest-exec,guest-set-user-password,guest-set-vcpus,guest-set-memory-blocks";
    private readonly Process _p;
    private readonly string _dir = Directory.CreateTempSubdirectory("qga-bench").FullName;
    private readonly Socket _s = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly byte[] _buf = new byte[1 << 20];
    private readonly MemoryStream _line = new();
    public double StartToFirstReplyMs { get; }

    public Agent(string bin)
    {
        var sock = Path.Combine(_dir, "s");
        var sw = Stopwatch.StartNew();
        var psi = new ProcessStartInfo(bin) { UseShellExecute = false, RedirectStandardError = true };
        foreach (var a in new[] { "-m", "unix-listen", "-p", sock, "-t", _dir, "-b", Blocked }) psi.ArgumentList.Add(a);
        _p = Process.Start(psi)!;
        _p.BeginErrorReadLine();
        while (true)
        {
            try { _s.Connect(new UnixDomainSocketEndPoint(sock)); break; }
            catch (SocketException) { Thread.SpinWait(1000); }
        }
        Call("{\"execute\":\"guest-ping\"}");
        StartToFirstReplyMs = sw.Elapsed.TotalMilliseconds;
    }

    public string Call(string request)
    {
        _s.Send(Encoding.ASCII.GetBytes(request));
        _line.SetLength(0);
        while (true)
        {
            int n = _s.Receive(_buf);
            if (n == 0) throw new IOException("closed");
            int nl = Array.IndexOf(_buf, (byte)'\n', 0, n);
            if (nl >= 0) { _line.Write(_buf, 0, nl); break; }
            _line.Write(_buf, 0, n);
        }
        var bytes = _line.GetBuffer();
        int len = (int)_line.Length;
        return Encoding.ASCII.GetString(bytes, 0, Math.Min(len, 200)) + (len > 200 ? Encoding.ASCII.GetString(bytes, len - 40, 40) : "");
    }

    /// <summary>A kB figure from /proc/PID/status.</summary>
    public double Status(string key)
    {
        foreach (var l in File.ReadAllLines($"/proc/{_p.Id}/status"))
            if (l.StartsWith(key, StringComparison.Ordinal)) return double.Parse(l[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return 0;
    }

    public void Dispose()
    {
        _s.Dispose();
        if (!_p.HasExited) { _p.Kill(); _p.WaitForExit(); }
        _p.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
