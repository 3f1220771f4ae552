using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using QgaOrchestrator.Core.Vms;

namespace QgaOrchestrator.Host.Tests;

/// <summary>
/// The real qgaorchd (<see cref="QgaHost.Build"/>, as Program runs it) in this process on 127.0.0.1 and a
/// port the kernel picks, with its own config dir, fleet.json and state dir (journal, token) under a temp dir.
/// </summary>
public sealed class RunningHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RunningHost(WebApplication app, string dir, Uri url)
    {
        _app = app;
        Dir = dir;
        Url = url;
        TokenFile = Path.Combine(dir, "state", "api-token");
        Token = File.ReadAllText(TokenFile).Trim();
        Client = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(60) };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        Anonymous = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
    }

    public string Dir { get; }
    public Uri Url { get; }
    public string TokenFile { get; }
    public string Token { get; }
    public HttpClient Client { get; }
    public HttpClient Anonymous { get; }

    /// <summary>Writes config/appsettings.json and config/fleet.json under a new temp dir and builds the host (throws on a refused config).</summary>
    public static WebApplication Build(string dir, IEnumerable<VmConfig> vms, string? appSettings = null, params string[] args)
    {
        var config = Path.Combine(dir, "config");
        Directory.CreateDirectory(config);
        File.WriteAllText(Path.Combine(config, "fleet.json"), FleetJson(vms));
        File.WriteAllText(Path.Combine(config, "appsettings.json"), appSettings ?? """
            {
              "Orchestrator": {
                "Listen": "http://127.0.0.1:0",
                "Sagas": { "MaxDeadline": "2m" },
                "Logging": { "File": "" },
                "Inventory": { "Discover": false }
              },
              "Serilog": { "MinimumLevel": { "Default": "Warning" } }
            }
            """);
        return QgaHost.Build(["--config-dir", config, $"--Orchestrator:StateDir={Path.Combine(dir, "state")}", .. args]);
    }

    public static async Task<RunningHost> StartAsync(IEnumerable<VmConfig> vms, params string[] args)
    {
        var dir = Directory.CreateTempSubdirectory("qgaorchd-test-").FullName;
        var app = Build(dir, vms, null, args);
        await app.StartAsync();
        var url = new Uri(app.Urls.First());
        return new RunningHost(app, dir, url);
    }

    public static string FleetJson(IEnumerable<VmConfig> vms) => JsonSerializer.Serialize(new
    {
        vms = vms.Select(v => new { id = v.Id, qgaSocket = v.QgaSocket, qmpSocket = v.QmpSocket, disks = v.Disks, labels = v.Labels }),
    }, new JsonSerializerOptions { WriteIndented = true, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull });

    public async Task<(int Status, JsonElement Body, string ContentType)> SendAsync(HttpMethod method, string path, string? json = null, HttpClient? client = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await (client ?? Client).SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonElement body = default;
        if (text.Length > 0 && (response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) ?? false))
        {
            using var doc = JsonDocument.Parse(text);
            body = doc.RootElement.Clone();
        }
        return ((int)response.StatusCode, body, response.Content.Headers.ContentType?.MediaType ?? "");
    }

    public Task<(int Status, JsonElement Body, string ContentType)> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public Task<(int Status, JsonElement Body, string ContentType)> PostAsync(string path, string? json = null) => SendAsync(HttpMethod.Post, path, json);

    /// <summary>Waits (bounded) until the fleet reports the VM's agent connected: the channel's sync handshake is done.</summary>
    public async Task WaitForAgentAsync(string vmId, TimeSpan? within = null)
    {
        JsonElement body = default;
        await Eventually.UntilAsync(async () =>
        {
            (var status, body, _) = await GetAsync("/vms/" + vmId);
            return status == 200 && body.GetProperty("agentConnected").GetBoolean();
        }, within ?? TimeSpan.FromSeconds(20), () => $"{vmId}: agent not connected: {body}");
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
        Client.Dispose();
        Anonymous.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(Dir, recursive: true);
    }
}
