using Microsoft.AspNetCore.Builder;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Host.Tests;

/// <summary>
/// The real qgaorchd (<see cref="QgaHost.Build"/>, as Program runs it) in this process on 127.0.0.1 and a
/// port the kernel picks, with its own config dir, fleet.json and state dir (journal, token) under a temp dir.
/// </summary>
public sealed class RunningHost : HostApi, IAsyncDisposable
{
    private readonly WebApplication _app;

    private RunningHost(WebApplication app, string dir, Uri url)
        : base(url, HostConfig.TokenFile(dir))
    {
        _app = app;
        Dir = dir;
    }

    public string Dir { get; }

    /// <summary>Writes config/appsettings.json and config/fleet.json under <paramref name="dir"/> and builds the host (throws on a refused config).</summary>
    public static WebApplication Build(string dir, IEnumerable<VmConfig> vms, string? appSettings = null, params string[] args) =>
        QgaHost.Build([.. HostConfig.Write(dir, vms, appSettings), .. args]);

    public static async Task<RunningHost> StartAsync(IEnumerable<VmConfig> vms, params string[] args)
    {
        var dir = Directory.CreateTempSubdirectory("qgaorchd-test-").FullName;
        var app = Build(dir, vms, null, args);
        await app.StartAsync();
        var url = new Uri(app.Urls.First());
        return new RunningHost(app, dir, url);
    }

    /// <summary>Runs a qgaorch verb in-process against this host; returns its exit code and outputs.</summary>
    public async Task<(int Code, string Out, string Err)> CliAsync(CancellationToken ct, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await Cli.CliApp.RunAsync(["--server", Url.ToString(), "--token-file", TokenFile, .. args], stdout, stderr, interactive: false, ct);
        return (code, stdout.ToString(), stderr.ToString());
    }

    public Task<(int Code, string Out, string Err)> CliAsync(params string[] args) => CliAsync(CancellationToken.None, args);

    public async ValueTask DisposeAsync()
    {
        Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(Dir, recursive: true);
    }
}
