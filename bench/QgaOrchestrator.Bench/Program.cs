using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using QgaOrchestrator.Bench;
using QgaOrchestrator.Core.Fleet;
using QgaOrchestrator.Core.Vms;
using QgaOrchestrator.Protocol.Qga;

// bench [--vms N] [--seconds S] [--requests R] [--metrics]
//   1. per-command overhead: median guest-ping through fleet → VM → channel vs a raw socket round trip
//   2. memory per idle VM (managed heap; agents live in a child process)
//   3. aggregate commands/s over N VMs, each with its own agent socket
//   --metrics: an OpenTelemetry MeterProvider collects the QgaOrchestrator meter (as qgaorchd's AddMeter does), read
//   every second by a reader with a no-op exporter (qgaorchd's Prometheus endpoint reads on scrape), so the
//   instruments' hot path runs as in production; without it nothing listens and the instruments are skipped.
if (args is ["agents", "--count", var c, "--dir", var d])
    return await BenchAgents.RunAsync(int.Parse(c, CultureInfo.InvariantCulture), d);

int vms = Option("--vms", 1000);
int seconds = Option("--seconds", 10);
int requests = Option("--requests", 20000);
using var metrics = args.Contains("--metrics") ? MetricsCollection.Start() : null;
int Option(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

var dir = Directory.CreateTempSubdirectory("qgaorch-bench-").FullName;
using var agents = StartAgents(vms, dir);
try
{
    Console.WriteLine($"cores {Environment.ProcessorCount}, VMs {vms}, {requests} sequential pings, {seconds} s throughput run, metrics {(metrics is null ? "not collected" : "collected (OpenTelemetry SDK)")}, load average {LoadAverage()}");
    var raw = RawRoundTrips(BenchAgents.SocketPath(dir, 0), requests);

    var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING\nakka.log-dead-letters = off");
    var system = ActorSystem.Create("bench", config);
    var configs = Enumerable.Range(0, vms).Select(i => new VmConfig { Id = "vm" + i, QgaSocket = BenchAgents.SocketPath(dir, i) }).ToList();

    GC.Collect();
    GC.WaitForPendingFinalizers();
    long before = GC.GetTotalMemory(true);
    var fleet = system.ActorOf(FleetManager.Props(new FleetManager.Settings { Vms = configs }), FleetManager.ActorName);
    var startup = Stopwatch.StartNew();
    while (true)
    {
        var status = await fleet.Ask<FleetManager.FleetStatus>(r => new FleetManager.GetFleetStatus(r), TimeSpan.FromSeconds(30), CancellationToken.None);
        if (status.Vms.All(v => v.AgentConnected && v.AgentVersion is not null)) break;
        if (startup.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("VMs did not all connect");
    }
    startup.Stop();
    GC.Collect();
    GC.WaitForPendingFinalizers();
    long after = GC.GetTotalMemory(true);
    double perVm = (after - before) / (double)vms;

    var orch = await OrchestratorRoundTrips(system, fleet, requests);
    Report("raw socket round trip", raw);
    Report("orchestrator round trip", orch);
    Console.WriteLine($"overhead per command: median {(Median(orch) - Median(raw)) * 1e6:0.0} µs");
    Console.WriteLine($"{vms} VMs connected and synced in {startup.Elapsed.TotalSeconds:0.0} s; memory per idle VM: {perVm / 1024:0.0} KiB managed heap");

    var (done, failed, elapsed) = await Throughput(system, fleet, vms, TimeSpan.FromSeconds(seconds));
    Console.WriteLine($"throughput: {done / elapsed.TotalSeconds:0} commands/s over {vms} VMs ({done} ok, {failed} failed in {elapsed.TotalSeconds:0.0} s)");
    if (metrics is not null) Console.WriteLine($"metrics: {metrics.Describe()}");
    Console.WriteLine($"load average at end: {LoadAverage()}");
    await system.Terminate();
}
finally
{
    agents.StandardInput.Close();
    await agents.WaitForExitAsync();
    Directory.Delete(dir, true);
}
return 0;

static Process StartAgents(int count, string dir)
{
    var path = Environment.ProcessPath!;
    var psi = new ProcessStartInfo(path) { RedirectStandardInput = true, RedirectStandardOutput = true };
    if (Path.GetFileNameWithoutExtension(path) == "dotnet") psi.ArgumentList.Add(typeof(BenchAgents).Assembly.Location);
    foreach (var a in new[] { "agents", "--count", count.ToString(CultureInfo.InvariantCulture), "--dir", dir }) psi.ArgumentList.Add(a);
    var p = Process.Start(psi)!;
    if (p.StandardOutput.ReadLine() != "ready") throw new InvalidOperationException("bench agents did not start");
    return p;
}

static double[] RawRoundTrips(string socketPath, int n)
{
    using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    s.Connect(new UnixDomainSocketEndPoint(socketPath));
    var buffer = new byte[4096];
    var result = new double[n];
    for (int i = -2000; i < n; i++)
    {
        var request = Encoding.UTF8.GetBytes($"{{\"execute\": \"guest-ping\", \"id\": {i + 10_000}}}\n");
        long t0 = Stopwatch.GetTimestamp();
        s.Send(request);
        int got = 0;
        do got += s.Receive(buffer, got, buffer.Length - got, SocketFlags.None);
        while (buffer[got - 1] != '\n');
        if (i >= 0) result[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }
    return result;
}

static async Task<double[]> OrchestratorRoundTrips(ActorSystem system, IActorRef fleet, int n)
{
    var done = new TaskCompletionSource<double[]>();
    system.ActorOf(Props.Create(() => new LatencyDriver(fleet, n, done)));
    return await done.Task;
}

static async Task<(long Done, long Failed, TimeSpan Elapsed)> Throughput(ActorSystem system, IActorRef fleet, int vms, TimeSpan duration)
{
    var counters = new Counters();
    var drivers = Enumerable.Range(0, vms).Select(i => system.ActorOf(Props.Create(() => new LoadDriver(fleet, "vm" + i, counters)))).ToList();
    var sw = Stopwatch.StartNew();
    using var stop = new CancellationTokenSource(duration);
    await Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { });
    counters.Running = false;
    sw.Stop();
    long done = Interlocked.Read(ref counters.Done), failed = Interlocked.Read(ref counters.Failed);
    foreach (var d in drivers) system.Stop(d);
    return (done, failed, sw.Elapsed);
}

static string LoadAverage()
{
    try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
    catch (IOException) { return "n/a"; }
}

static double Median(double[] xs)
{
    var sorted = xs.Order().ToArray();
    return sorted[sorted.Length / 2];
}

static void Report(string what, double[] xs)
{
    var sorted = xs.Order().ToArray();
    Console.WriteLine($"{what}: median {sorted[sorted.Length / 2] * 1e6:0.0} µs, p99 {sorted[(int)(sorted.Length * 0.99)] * 1e6:0.0} µs");
}

internal sealed class Counters
{
    public long Done;
    public long Failed;
    public volatile bool Running = true;
}

/// <summary>Sequential pings through the fleet, one at a time, timing each round trip.</summary>
internal sealed class LatencyDriver : UntypedActor
{
    private readonly IActorRef _fleet;
    private readonly double[] _samples;
    private readonly TaskCompletionSource<double[]> _done;
    private int _i = -2000;
    private long _t0;

    public LatencyDriver(IActorRef fleet, int n, TaskCompletionSource<double[]> done)
    {
        _fleet = fleet;
        _samples = new double[n];
        _done = done;
    }

    protected override void PreStart() => Next();

    protected override void OnReceive(object message)
    {
        if (message is not Vm.Executed) return;
        if (_i >= 0) _samples[_i] = Stopwatch.GetElapsedTime(_t0).TotalSeconds;
        if (++_i == _samples.Length)
        {
            _done.TrySetResult(_samples);
            Context.Stop(Self);
            return;
        }
        Next();
    }

    private void Next()
    {
        _t0 = Stopwatch.GetTimestamp();
        _fleet.Tell(new Vm.Execute("vm0", QgaCommands.GuestPing, null, "l", Self));
    }
}

/// <summary>Keeps two pings outstanding on one VM (one in flight, one queued) until stopped.</summary>
internal sealed class LoadDriver(IActorRef fleet, string vmId, Counters counters) : UntypedActor
{
    protected override void PreStart()
    {
        Send();
        Send();
    }

    protected override void OnReceive(object message)
    {
        if (message is not Vm.Executed e) return;
        if (e.Succeeded) Interlocked.Increment(ref counters.Done);
        else Interlocked.Increment(ref counters.Failed);
        if (counters.Running) Send();
    }

    private void Send() => fleet.Tell(new Vm.Execute(vmId, QgaCommands.GuestPing, null, "t", Self, TimeSpan.FromSeconds(30)));
}
